"""The notify consumer and its background loops, wired from one container.

One consumer, ``notify``, binds `invitations.created`, `wave.scored` and
`relationship.alert`. `wave.scored` sends the results emails, then each owner's one email
of new cases; a `relationship.alert` sends nothing (its case is in that email: one message
per owner per wave, never one per trigger). Each process also runs a retry loop (emails
whose relay was down) and the scheduler (reminders, closing dates, case reminders and
overdue cases); see `Notifier.start_background`.
"""

from __future__ import annotations

import logging
import threading

from services.bootstrap import Container
from services.notify.cases import send_new_cases
from services.notify.config import NotifyConfig
from services.notify.delivery import Delivery
from services.notify.invitations import send_invitations
from services.notify.mailer import Mailer
from services.notify.messages import sender_address
from services.notify.rendering import Renderer, default_renderer
from services.notify.results import send_wave_results
from services.notify.scheduler import Scheduler
from shared.bus import CONSUMER_BINDINGS, ConsumerSpec
from shared.events import INVITATIONS_CREATED, RELATIONSHIP_ALERT, WAVE_SCORED, Event

log = logging.getLogger(__name__)

CONSUMER = "notify"
BINDINGS = CONSUMER_BINDINGS[CONSUMER]  # invitations.created, wave.scored, relationship.alert


class Notifier:
    """The notify service of one process: one SMTP connection, one delivery queue, the handlers."""

    def __init__(
        self,
        container: Container,
        *,
        config: NotifyConfig | None = None,
        renderer: Renderer | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self.container = container
        self.settings = container.settings
        self.config = config or NotifyConfig.from_env()
        self.renderer = renderer or default_renderer()
        self._mailer = mailer
        self._delivery: Delivery | None = None
        self._lock = threading.Lock()

    @property
    def mailer(self) -> Mailer:
        with self._lock:
            if self._mailer is None:
                if not self.settings.smtp_url:
                    raise RuntimeError("SMTP_URL is not set: the notify service cannot send")
                self._mailer = Mailer(
                    self.settings.smtp_url, rate_per_s=self.settings.mail_rate_per_s
                )
            return self._mailer

    @property
    def delivery(self) -> Delivery:
        mailer = self.mailer
        with self._lock:
            if self._delivery is None:
                self._delivery = Delivery(
                    db=self.container.db,
                    mailer=mailer,
                    sender=sender_address(self.settings.mail_from),
                    config=self.config,
                )
            return self._delivery

    def handle(self, event: Event) -> None:
        """The consumer's handler: one event, its emails recorded and (when the relay is up) sent."""
        handlers = {
            INVITATIONS_CREATED: (send_invitations,),
            WAVE_SCORED: (send_wave_results, send_new_cases),
        }
        if event.type == RELATIONSHIP_ALERT:
            return  # for outside listeners: its case is in the owner's email of the wave
        found = handlers.get(event.type)
        if found is None:
            log.info("event not for notify", extra={"event_id": event.event_id, "type": event.type})
            return
        for handler in found:
            handler(
                db=self.container.db,
                delivery=self.delivery,
                renderer=self.renderer,
                settings=self.settings,
                event_id=event.event_id,
                payload=event.payload,
            )

    def scheduler(self) -> Scheduler:
        return Scheduler(
            db=self.container.db,
            bus=self.container.bus,
            delivery=self.delivery,
            renderer=self.renderer,
            settings=self.settings,
            config=self.config,
        )

    def start_background(self, *, scheduler: bool = True) -> NotifyBackground:
        """Start the retry loop (and the scheduler) on daemon threads; stop() ends them."""
        background = NotifyBackground(self)
        background.start(scheduler=scheduler)
        return background

    def close(self) -> None:
        """Finish what the sending thread holds and close the SMTP connection."""
        with self._lock:
            delivery, mailer = self._delivery, self._mailer
        if delivery is not None:
            delivery.close()
        elif mailer is not None:
            mailer.close()


class NotifyBackground:
    """The retry loop and the scheduler of one process; has the consumers' stop()."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, *, scheduler: bool = True) -> NotifyBackground:
        loops = [("notify-retry", self.notifier.delivery.run)]
        if scheduler:
            loops.append(("notify-scheduler", self.notifier.scheduler().run))
        for name, loop in loops:
            thread = threading.Thread(target=loop, args=(self._stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.notifier.close()


def consumer_specs(container: Container, notifier: Notifier | None = None) -> list[ConsumerSpec]:
    """The notify consumer: invitations, results and alerts by email."""
    notifier = notifier or Notifier(container)
    return [ConsumerSpec(CONSUMER, BINDINGS, notifier.handle, container.idempotency())]
