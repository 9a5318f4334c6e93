"""The `rapport` command: the admin API's service functions from a shell.

    rapport keys create --org NAME
    rapport org set-name DISPLAY_NAME [--sender-name NAME] [--org NAME]
    rapport org show [--org NAME]
    rapport programs create --org NAME --name NAME [--settings JSON]
    rapport programs show PROGRAM_ID
    rapport roster import FILE --program PROGRAM_ID
    rapport waves create --program PROGRAM_ID --name NAME --closes-at ISO [--opens-at ISO]
                         [--reminder-days 3,7]
    rapport waves launch WAVE_ID --delivery email|none
    rapport waves status|links|close WAVE_ID
    rapport outbox relay [--older-than SECONDS]
    rapport users create --org NAME --email E --role admin|manager|viewer|seller [--name N]
    rapport users link --email E

`users create` and `users link` print a sign-in link to the console (single use, 15 minutes).

It reads MONGO_URL and AMQP_URL (and the other settings) from the environment. Programs and
waves are found by id; `--org NAME` restricts the lookup to that organisation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

from services.bootstrap import Container, build
from services.survey.admin import programs, roster, waves
from services.survey.admin.schemas import (
    LaunchReportSchema,
    LinkListSchema,
    OrganisationPatchSchema,
    OrganisationSchema,
    ProgramCreateSchema,
    ProgramSchema,
    RosterReportSchema,
    WaveCreateSchema,
    WaveSchema,
    flat_messages,
    invalid_input_message,
)
from services.survey.console import people
from services.survey.console.signing_in import sign_in_link
from services.survey.errors import ApiError, NotFound, ValidationFailed
from services.survey.organisations import (
    create_api_key,
    ensure_organisation,
    get_organisation,
    update_branding,
)
from shared.bus import InProcessBus
from shared.outbox import relay_outbox
from shared.settings import Settings, SettingsError
from shared.store import Database, organisations
from shared.store import programs as program_store
from shared.store import users as user_store
from shared.store import waves as wave_store


def _print(schema: Schema, value: Any) -> None:
    print(json.dumps(schema.dump(value), indent=2, ensure_ascii=False))


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as exc:
        details = flat_messages(exc.messages)
        raise ValidationFailed(invalid_input_message(details), details=details) from None


def _org_of(db: Database, collection: str, item_id: str, org_name: str | None) -> str:
    """The organisation owning a program or wave (restricted to --org when given)."""
    org_id = _org_id(db, org_name) if org_name else None
    if collection == "programs":
        found = program_store.get(db=db, org_id=org_id, program_id=item_id, fields=("org_id",))
    else:
        found = wave_store.get(db=db, org_id=org_id, wave_id=item_id, fields=("org_id",))
    if found is None:
        raise NotFound(f"{collection[:-1]} {item_id} not found")
    return found["org_id"]


# --- commands --------------------------------------------------------------------------------


def keys_create(container: Container, args: argparse.Namespace) -> int:
    org_id = ensure_organisation(db=container.db, name=args.org)
    print(create_api_key(db=container.db, org_id=org_id, label=args.label))
    return 0


def _org_id(db: Database, org_name: str) -> str:
    org = organisations.find_by_name(db=db, name=org_name, fields=("_id",))
    if org is None:
        raise NotFound(f"no organisation called {org_name!r}")
    return str(org["_id"])


def org_set_name(container: Container, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"display_name": args.display_name}
    if args.sender_name is not None:
        body["sender_name"] = args.sender_name
    body = _load(OrganisationPatchSchema(), body)
    org_id = _org_id(container.db, args.org)
    _print(OrganisationSchema(), update_branding(db=container.db, org_id=org_id, changes=body))
    return 0


def org_show(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_id(container.db, args.org)
    _print(OrganisationSchema(), get_organisation(db=container.db, org_id=org_id))
    return 0


def programs_create(container: Container, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name}
    if args.settings:
        try:
            body["settings"] = json.loads(args.settings)
        except ValueError:
            raise ValidationFailed("--settings is not valid JSON") from None
    body = _load(ProgramCreateSchema(), body)
    org_id = ensure_organisation(db=container.db, name=args.org)
    program = programs.create_program(
        db=container.db, org_id=org_id, name=body["name"], settings=body.get("settings")
    )
    _print(ProgramSchema(), program)
    return 0


def programs_show(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "programs", args.program_id, args.org)
    program = programs.get_program(db=container.db, org_id=org_id, program_id=args.program_id)
    _print(ProgramSchema(), program)
    return 0


def roster_import(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "programs", args.program, args.org)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"cannot read {args.file}: {exc.strerror}") from None
    report = roster.import_roster_csv(
        db=container.db, org_id=org_id, program_id=args.program, data=data
    )
    _print(RosterReportSchema(), report)
    return 0 if not report.rows_rejected else 3


def waves_create(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "programs", args.program, args.org)
    body: dict[str, Any] = {"name": args.name, "closes_at": args.closes_at}
    if args.opens_at:
        body["opens_at"] = args.opens_at
    if args.reminder_days:
        try:
            body["reminder_days"] = [int(d) for d in args.reminder_days.split(",") if d.strip()]
        except ValueError:
            raise ValidationFailed("--reminder-days takes whole days, like 3,7") from None
    body = _load(WaveCreateSchema(), body)
    wave = waves.create_wave(
        db=container.db,
        org_id=org_id,
        program_id=args.program,
        name=body["name"],
        closes_at=body["closes_at"],
        opens_at=body.get("opens_at"),
        reminder_days=body.get("reminder_days"),
    )
    _print(WaveSchema(), wave)
    return 0


def waves_launch(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "waves", args.wave_id, args.org)
    report = waves.launch_wave(
        db=container.db,
        bus=container.bus,
        org_id=org_id,
        wave_id=args.wave_id,
        delivery=args.delivery,
    )
    _print(LaunchReportSchema(), report)
    if report.events_pending:
        print(
            f"note: {report.events_pending} invitation event(s) wait in the outbox; "
            "`rapport outbox relay` with AMQP_URL set publishes them",
            file=sys.stderr,
        )
    return 0


def waves_status(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "waves", args.wave_id, args.org)
    _print(WaveSchema(), waves.wave_status(db=container.db, org_id=org_id, wave_id=args.wave_id))
    return 0


def waves_links(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "waves", args.wave_id, args.org)
    items = waves.wave_links(
        db=container.db, settings=container.settings, org_id=org_id, wave_id=args.wave_id
    )
    _print(LinkListSchema(), {"items": items})
    return 0


def waves_close(container: Container, args: argparse.Namespace) -> int:
    org_id = _org_of(container.db, "waves", args.wave_id, args.org)
    wave = waves.close_wave(db=container.db, bus=container.bus, org_id=org_id, wave_id=args.wave_id)
    _print(WaveSchema(), wave)
    return 0


def users_create(container: Container, args: argparse.Namespace) -> int:
    org_id = ensure_organisation(db=container.db, name=args.org)
    person = people.create_user(
        db=container.db, org_id=org_id, email=args.email, role=args.role, name=args.name or ""
    )
    print(sign_in_link(settings=container.settings, person=person))
    return 0


def users_link(container: Container, args: argparse.Namespace) -> int:
    user = user_store.find_by_email(db=container.db, email=args.email.strip().lower())
    if user is None:
        raise NotFound(f"no user with the email {args.email}")
    print(sign_in_link(settings=container.settings, person=people.person_of(user)))
    return 0


def outbox_relay(container: Container, args: argparse.Namespace) -> int:
    published = relay_outbox(db=container.db, bus=container.bus, older_than_s=args.older_than)
    print(json.dumps({"published": published}))
    return 0


# --- parsing ---------------------------------------------------------------------------------


def _users_commands(groups: Any, command: Callable) -> None:
    """`rapport users create|link`: people of the console and their sign-in links."""
    people_group = groups.add_parser("users", help="people of the console").add_subparsers(
        dest="command", required=True
    )
    sub = command(people_group, "create", users_create, "create a user; prints a sign-in link")
    sub.add_argument("--org", required=True, help="organisation name (created when missing)")
    sub.add_argument("--email", required=True)
    sub.add_argument("--role", required=True, choices=people.ROLES)
    sub.add_argument("--name", help="the person's name")
    sub = command(people_group, "link", users_link, "print a new sign-in link for a user")
    sub.add_argument("--email", required=True)


def parser() -> argparse.ArgumentParser:
    """The command line of `rapport`."""
    top = argparse.ArgumentParser(
        prog="rapport", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    groups = top.add_subparsers(
        dest="group", required=True, metavar="{keys,org,programs,roster,waves,outbox,users}"
    )

    def command(group: Any, name: str, run: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    sub = command(keys, "create", keys_create, "create an API key (printed once)")
    sub.add_argument("--org", required=True, help="organisation name (created when missing)")
    sub.add_argument("--label", default="cli")

    org = groups.add_parser("org", help="the organisation's name as people read it").add_subparsers(
        dest="command", required=True
    )
    sub = command(
        org,
        "set-name",
        org_set_name,
        "set the name respondents and sellers read (pages, emails) instead of the internal one",
    )
    sub.add_argument("display_name", help='e.g. "Northwind Supplies"')
    sub.add_argument("--sender-name", help="the emails' From name (default: the display name)")
    sub.add_argument("--org", default="default", help="organisation (default: default)")
    sub = command(org, "show", org_show, "show the organisation's name and branding")
    sub.add_argument("--org", default="default", help="organisation (default: default)")

    progs = groups.add_parser("programs", help="programs").add_subparsers(
        dest="command", required=True
    )
    sub = command(progs, "create", programs_create, "create a program")
    sub.add_argument("--org", required=True, help="organisation name (created when missing)")
    sub.add_argument("--name", required=True)
    sub.add_argument("--settings", help="JSON, e.g. '{\"gap_threshold\": 15}'")
    sub = command(progs, "show", programs_show, "show a program")
    sub.add_argument("program_id")
    sub.add_argument("--org")

    rost = groups.add_parser("roster", help="rosters").add_subparsers(dest="command", required=True)
    sub = command(rost, "import", roster_import, "import a roster CSV into a program")
    sub.add_argument("file")
    sub.add_argument("--program", required=True)
    sub.add_argument("--org")

    wav = groups.add_parser("waves", help="waves").add_subparsers(dest="command", required=True)
    sub = command(wav, "create", waves_create, "create a draft wave")
    sub.add_argument("--program", required=True)
    sub.add_argument("--name", required=True)
    sub.add_argument("--closes-at", required=True, help="ISO 8601, e.g. 2030-01-31T18:00:00Z")
    sub.add_argument("--opens-at")
    sub.add_argument("--reminder-days", help="comma-separated days after launch, e.g. 3,7")
    sub.add_argument("--org")
    sub = command(wav, "launch", waves_launch, "invite everyone and open the wave")
    sub.add_argument("wave_id")
    sub.add_argument("--delivery", required=True, choices=waves.DELIVERIES)
    sub.add_argument("--org")
    for name, run, text in (
        ("status", waves_status, "the wave's status and response counts"),
        ("links", waves_links, "every invitee's personal link"),
        ("close", waves_close, "close the wave (scoring then makes results final)"),
    ):
        sub = command(wav, name, run, text)
        sub.add_argument("wave_id")
        sub.add_argument("--org")

    box = groups.add_parser("outbox", help="the event outbox").add_subparsers(
        dest="command", required=True
    )
    sub = command(box, "relay", outbox_relay, "publish the events still pending in the outbox")
    sub.add_argument("--older-than", type=float, default=0.0, help="seconds (default 0)")

    _users_commands(groups, command)
    return top


def main(argv: Sequence[str] | None = None, *, container: Container | None = None) -> int:
    """Run one `rapport` command; the exit status is 0, 1 for an error, 3 for rejected rows."""
    args = parser().parse_args(argv)
    if container is None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if not settings.mongo_url:
            print("error: MONGO_URL is not set", file=sys.stderr)
            return 1
        # Without a broker nobody in this process would consume: an in-process bus with no
        # queues refuses every event, so they wait in the outbox for `outbox relay`.
        container = build(settings, bus=None if settings.amqp_url else InProcessBus(settings))
    try:
        return args.run(container, args)
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for field, problems in list(exc.details.items())[:20]:
            print(f"  {field}: {'; '.join(map(str, problems))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
