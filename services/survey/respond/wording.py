"""The words of the survey pages around the questions, per language (English is the fallback).

The questions themselves come from the item bank; these are the buttons, headings and
explanations of the pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from shared.wording import missing_names, variant_key

_EN: dict[str, str] = {
    "site": "Rapport survey",
    "skip": "Skip to the questions",
    "welcome_title": "Your view of working with {sender}",
    "welcome_title_no_sender": "Your view of working together",
    "welcome_title_seller": "How do your clients see working with us?",
    "who_asks": "{sender} asks you, {name}, how working together goes from your side.",
    "who_asks_no_name": "{sender} asks you how working together goes from your side.",
    "who_asks_no_sender": (
        "Your account team asks you, {name}, how working together goes from your side."
    ),
    "who_asks_no_name_no_sender": (
        "Your account team asks you how working together goes from your side."
    ),
    "who_asks_seller": (
        "{sender} asks you, {name}, to answer the client questionnaire the way each of "
        "your buyer contacts would answer it."
    ),
    "who_asks_seller_no_name": (
        "{sender} asks you to answer the client questionnaire the way each of your buyer "
        "contacts would answer it."
    ),
    "who_asks_seller_no_sender": (
        "Please answer, {name}, the client questionnaire the way each of your buyer "
        "contacts would answer it."
    ),
    "who_asks_seller_no_name_no_sender": (
        "Please answer the client questionnaire the way each of your buyer contacts would "
        "answer it."
    ),
    "why_label": "Why",
    "how_long_label": "How long",
    "what_happens_label": "What happens with your answers",
    "why": (
        "Your answers show what works in the relationship and what to improve: trust, "
        "competence, how valued you feel, proactivity, responsiveness and commitment."
    ),
    "why_seller": (
        "Your predictions are compared with your buyers' own answers. The difference shows "
        "where the relationship is better or worse than it looks from our side."
    ),
    "how_long_a_minute": (
        "It takes about a minute (our estimate: about 4 seconds to read and answer each question)."
    ),
    "how_long": (
        "It takes about {minutes} minutes (our estimate: about 4 seconds to read and answer "
        "each question)."
    ),
    "how_long_seller": (
        "It takes about {minutes} minutes per buyer. You answer for {count} buyer contacts, "
        "one after the other."
    ),
    "how_long_seller_one": ("It takes about {minutes} minutes. You answer for one buyer contact."),
    "what_is_needed": (
        "To submit, answer the 0–10 recommendation question and at least {answered} of the "
        "{items} statements on {needed} of the {topics} topics. Everything else is optional."
    ),
    "what_happens": (
        "Your answers go to the account team at {sender} with your name and company, so "
        "they can act on them. They are not shared outside {sender}."
    ),
    "what_happens_no_sender": (
        "Your answers go to your account team with your name and company, so they can act "
        "on them. They are not passed on to anyone else."
    ),
    "privacy": "Privacy notice",
    "questions": "Questions about this survey? Write to {contact} at {email}.",
    "questions_no_contact": "Questions about this survey? Write to {email}.",
    "what_happens_seller": (
        "After the survey closes you receive your results and a short coaching plan by "
        "email. Your predictions are not shown to your buyers."
    ),
    "resume_note": (
        "Your answers are saved on every page. You can stop at any time and come back "
        "with the same link to carry on where you stopped."
    ),
    "closes": "The survey closes on {date}.",
    "start": "Start",
    "continue": "Continue",
    "back": "Back",
    "next": "Next",
    "to_review": "Review answers",
    "step": "Page {step} of {total}",
    "saved_note": "Your answers are saved when you go to another page.",
    "dont_know": "Don't know / not applicable",
    "about": "About {label}",
    "review_title": "Review and submit",
    "review_intro": "Check your answers. Change any page before you submit.",
    "answered": "{n} of {total} answered",
    "change": "Change",
    "change_section": "Change {title}",
    "not_answered": "Not answered",
    "submit": "Submit answers",
    "submit_note": "After you submit, your answers cannot be changed.",
    "missing_title": "Before you can submit",
    "missing_recommend": "Answer the recommendation question (0–10).",
    "missing_dimensions": (
        "Answer at least {answered} of the {items} statements on at least {needed} of the "
        "{topics} topics (trust, competence, recognition, proactivity, responsiveness, "
        "commitment). So far: {counted}."
    ),
    "missing_item": "Answer this question.",
    "go_to": "Go to {title}",
    "error_summary": "Please check the marked answers.",
    "error_choice": "Choose one of the options.",
    "error_too_long": "Too long: at most {n} characters.",
    "error_moment": "Choose where it happened and how it felt, and describe what happened.",
    "error_required": "An answer is needed before you can submit.",
    "moments_hint": "You can describe up to {n} moments; leave the rest empty.",
    "more_moments": "More moments (up to {n} in all)",
    "moment": "Moment {n}",
    "moment_touchpoint": "Where it happened",
    "moment_tag": "How it felt",
    "moment_text": "What happened",
    "choose": "Choose …",
    "done_title": "Thank you",
    "done_body": "Your answers have been submitted. You can close this page.",
    "done_body_seller": (
        "You have answered for all your buyer contacts. You will receive your results "
        "after the survey closes. You can close this page."
    ),
    "already_title": "Already submitted",
    "already_body": "These answers have already been submitted and cannot be changed.",
    "list_title": "Your buyer contacts",
    "list_intro": "Answer for each buyer contact in turn. {done} of {total} completed.",
    "list_next": "Next: {label}",
    "list_thanks": "Thank you: your answers about {label} are submitted.",
    "status_not_started": "Not started",
    "status_in_progress": "In progress",
    "status_completed": "Completed",
    "open_start": "Start {label}",
    "open_continue": "Continue {label}",
    "back_to_list": "Back to your buyer contacts",
    "closed_title": "This survey is closed",
    "closed_body": "The survey has closed, so answers can no longer be given or changed.",
    "invalid_title": "Link not valid",
    "invalid_body": "This link is not valid. Please use the link from your most recent email.",
    "expired_title": "Please try again",
    "expired_body": (
        "This page was open too long or came from another browser, so it could not be "
        "saved. Open your link again to carry on; your earlier pages are saved."
    ),
    "conflict_body": "Your answers changed in another window. Open your link again to carry on.",
    "open_link_again": "Open the survey again",
    "and": " and ",
    "grid_ratings_title": "Recommendation and satisfaction",
    "grid_topics_title": "The six topics",
    "grid_intro": (
        "Answer for each buyer contact as you expect them to answer. Your rows are saved "
        "when you go on; you can stop and come back with your link."
    ),
    "grid_one_at_a_time": "Prefer to answer one buyer contact at a time?",
    "grid_buyer": "Buyer contact",
    "grid_status": "Still needed",
    "grid_anchors": (
        "{low} = {low_label}, {high} = {high_label}. The last choice, the question mark, "
        "means “{dont_know}”."
    ),
    "grid_ready": "Ready to submit",
    "grid_missing": "Still needed: {pages}",
    "grid_to_submit": "Go on to submit",
    "grid_submit_title": "Submit your answers",
    "grid_submit_intro": (
        "Each buyer contact is submitted on their own. Submitting needs the recommendation "
        "question and {needed} of the {topics} topics."
    ),
    "grid_submit_button": "Submit the {n} ready buyer contacts",
    "grid_submitted": "{n} buyer contacts submitted.",
    "grid_none_ready": "No buyer contact is ready to submit yet.",
    "how_long_seller_grid": (
        "It takes about {minutes} minutes for all {count} buyer contacts together: one page "
        "per topic, with every buyer contact as a row."
    ),
}

_DE: dict[str, str] = {
    "site": "Rapport-Umfrage",
    "skip": "Zu den Fragen springen",
    "welcome_title": "Ihre Sicht auf die Zusammenarbeit mit {sender}",
    "welcome_title_no_sender": "Ihre Sicht auf die Zusammenarbeit",
    "welcome_title_seller": "Wie sehen Ihre Kunden die Zusammenarbeit mit uns?",
    "who_asks": "{sender} fragt Sie, {name}, wie die Zusammenarbeit aus Ihrer Sicht läuft.",
    "who_asks_no_name": "{sender} fragt Sie, wie die Zusammenarbeit aus Ihrer Sicht läuft.",
    "who_asks_no_sender": (
        "Ihr Account-Team fragt Sie, {name}, wie die Zusammenarbeit aus Ihrer Sicht läuft."
    ),
    "who_asks_no_name_no_sender": (
        "Ihr Account-Team fragt Sie, wie die Zusammenarbeit aus Ihrer Sicht läuft."
    ),
    "who_asks_seller": (
        "{sender} bittet Sie, {name}, den Kundenfragebogen so zu beantworten, wie es jeder "
        "Ihrer Ansprechpartner beim Kunden tun würde."
    ),
    "who_asks_seller_no_name": (
        "{sender} bittet Sie, den Kundenfragebogen so zu beantworten, wie es jeder Ihrer "
        "Ansprechpartner beim Kunden tun würde."
    ),
    "who_asks_seller_no_sender": (
        "Bitte beantworten Sie, {name}, den Kundenfragebogen so, wie es jeder Ihrer "
        "Ansprechpartner beim Kunden tun würde."
    ),
    "who_asks_seller_no_name_no_sender": (
        "Bitte beantworten Sie den Kundenfragebogen so, wie es jeder Ihrer Ansprechpartner "
        "beim Kunden tun würde."
    ),
    "why_label": "Warum",
    "how_long_label": "Wie lange",
    "what_happens_label": "Was mit Ihren Antworten geschieht",
    "why": (
        "Ihre Antworten zeigen, was in der Zusammenarbeit gut läuft und was besser werden "
        "soll: Vertrauen, Kompetenz, Wertschätzung, Proaktivität, Reaktionsfähigkeit und "
        "Bindung."
    ),
    "why_seller": (
        "Ihre Einschätzungen werden mit den Antworten Ihrer Kunden verglichen. Der Unterschied "
        "zeigt, wo die Beziehung besser oder schlechter ist, als sie von uns aus aussieht."
    ),
    "how_long_a_minute": (
        "Das dauert etwa eine Minute (unsere Schätzung: etwa 4 Sekunden, um eine Frage zu "
        "lesen und zu beantworten)."
    ),
    "how_long": (
        "Das dauert etwa {minutes} Minuten (unsere Schätzung: etwa 4 Sekunden, um eine "
        "Frage zu lesen und zu beantworten)."
    ),
    "how_long_seller": (
        "Das dauert etwa {minutes} Minuten je Kunde. Sie antworten für {count} "
        "Ansprechpartner, einen nach dem anderen."
    ),
    "how_long_seller_one": (
        "Das dauert etwa {minutes} Minuten. Sie antworten für einen Ansprechpartner."
    ),
    "what_is_needed": (
        "Zum Absenden nötig sind die Empfehlungsfrage (0–10) und mindestens {answered} der "
        "{items} Aussagen zu {needed} der {topics} Themen. Alles andere ist freiwillig."
    ),
    "what_happens": (
        "Ihre Antworten gehen mit Ihrem Namen und Unternehmen an das Account-Team von "
        "{sender}, damit es handeln kann. Sie werden nicht außerhalb von {sender} geteilt."
    ),
    "what_happens_no_sender": (
        "Ihre Antworten gehen mit Ihrem Namen und Unternehmen an Ihr Account-Team, damit es "
        "handeln kann. Sie werden nicht an Dritte weitergegeben."
    ),
    "privacy": "Datenschutzhinweis",
    "questions": "Fragen zu dieser Umfrage? Schreiben Sie an {contact}, {email}.",
    "questions_no_contact": "Fragen zu dieser Umfrage? Schreiben Sie an {email}.",
    "what_happens_seller": (
        "Nach dem Ende der Umfrage erhalten Sie Ihre Ergebnisse und einen kurzen "
        "Coaching-Plan per E-Mail. Ihre Einschätzungen sehen Ihre Kunden nicht."
    ),
    "resume_note": (
        "Ihre Antworten werden auf jeder Seite gespeichert. Sie können jederzeit aufhören "
        "und später mit demselben Link dort weitermachen, wo Sie aufgehört haben."
    ),
    "closes": "Die Umfrage endet am {date}.",
    "start": "Beginnen",
    "continue": "Weiter",
    "back": "Zurück",
    "next": "Weiter",
    "to_review": "Antworten prüfen",
    "step": "Seite {step} von {total}",
    "saved_note": "Ihre Antworten werden beim Seitenwechsel gespeichert.",
    "dont_know": "Weiß nicht / trifft nicht zu",
    "about": "Über {label}",
    "review_title": "Prüfen und absenden",
    "review_intro": "Prüfen Sie Ihre Antworten. Sie können jede Seite vor dem Absenden ändern.",
    "answered": "{n} von {total} beantwortet",
    "change": "Ändern",
    "change_section": "{title} ändern",
    "not_answered": "Nicht beantwortet",
    "submit": "Antworten absenden",
    "submit_note": "Nach dem Absenden können Sie Ihre Antworten nicht mehr ändern.",
    "missing_title": "Bevor Sie absenden können",
    "missing_recommend": "Beantworten Sie die Empfehlungsfrage (0–10).",
    "missing_dimensions": (
        "Beantworten Sie mindestens {answered} der {items} Aussagen zu mindestens {needed} "
        "der {topics} Themen (Vertrauen, Kompetenz, Wertschätzung, Proaktivität, "
        "Reaktionsfähigkeit, Bindung). Bisher: {counted}."
    ),
    "missing_item": "Beantworten Sie diese Frage.",
    "go_to": "Zu {title}",
    "error_summary": "Bitte prüfen Sie die markierten Antworten.",
    "error_choice": "Wählen Sie eine der Möglichkeiten.",
    "error_too_long": "Zu lang: höchstens {n} Zeichen.",
    "error_moment": "Wählen Sie Bereich und Gefühl und beschreiben Sie, was passiert ist.",
    "error_required": "Diese Antwort ist zum Absenden nötig.",
    "moments_hint": "Sie können bis zu {n} Momente beschreiben; lassen Sie den Rest leer.",
    "more_moments": "Weitere Momente (insgesamt bis zu {n})",
    "moment": "Moment {n}",
    "moment_touchpoint": "Bereich",
    "moment_tag": "Wie es sich angefühlt hat",
    "moment_text": "Was passiert ist",
    "choose": "Bitte wählen …",
    "done_title": "Vielen Dank",
    "done_body": "Ihre Antworten wurden abgesendet. Sie können diese Seite schließen.",
    "done_body_seller": (
        "Sie haben für alle Ihre Ansprechpartner geantwortet. Ihre Ergebnisse erhalten Sie "
        "nach dem Ende der Umfrage. Sie können diese Seite schließen."
    ),
    "already_title": "Bereits abgesendet",
    "already_body": "Diese Antworten wurden bereits abgesendet und können nicht mehr geändert werden.",
    "list_title": "Ihre Ansprechpartner",
    "list_intro": "Antworten Sie für jeden Ansprechpartner der Reihe nach. {done} von {total} erledigt.",
    "list_next": "Als Nächstes: {label}",
    "list_thanks": "Danke: Ihre Antworten zu {label} sind abgesendet.",
    "status_not_started": "Nicht begonnen",
    "status_in_progress": "Begonnen",
    "status_completed": "Erledigt",
    "open_start": "{label} beginnen",
    "open_continue": "{label} fortsetzen",
    "back_to_list": "Zurück zu Ihren Ansprechpartnern",
    "closed_title": "Diese Umfrage ist beendet",
    "closed_body": "Die Umfrage ist beendet; Antworten können nicht mehr gegeben oder geändert werden.",
    "invalid_title": "Link ungültig",
    "invalid_body": "Dieser Link ist ungültig. Bitte nutzen Sie den Link aus Ihrer neuesten E-Mail.",
    "expired_title": "Bitte noch einmal",
    "expired_body": (
        "Diese Seite war zu lange geöffnet oder stammt aus einem anderen Browser und konnte "
        "nicht gespeichert werden. Öffnen Sie Ihren Link erneut; frühere Seiten sind gespeichert."
    ),
    "conflict_body": (
        "Ihre Antworten wurden in einem anderen Fenster geändert. Öffnen Sie Ihren Link erneut."
    ),
    "open_link_again": "Umfrage erneut öffnen",
    "and": " und ",
    "grid_ratings_title": "Weiterempfehlung und Zufriedenheit",
    "grid_topics_title": "Die sechs Themen",
    "grid_intro": (
        "Antworten Sie für jeden Ansprechpartner so, wie er Ihrer Einschätzung nach antworten "
        "würde. Ihre Zeilen werden beim Weitergehen gespeichert; Sie können jederzeit mit "
        "Ihrem Link weitermachen."
    ),
    "grid_one_at_a_time": "Lieber einen Ansprechpartner nach dem anderen beantworten?",
    "grid_buyer": "Ansprechpartner",
    "grid_status": "Noch offen",
    "grid_anchors": (
        "{low} = {low_label}, {high} = {high_label}. Die letzte Wahl, das Fragezeichen, "
        "bedeutet „{dont_know}“."
    ),
    "grid_ready": "Bereit zum Absenden",
    "grid_missing": "Noch offen: {pages}",
    "grid_to_submit": "Weiter zum Absenden",
    "grid_submit_title": "Antworten absenden",
    "grid_submit_intro": (
        "Jeder Ansprechpartner wird einzeln abgesendet. Nötig sind die Frage zur "
        "Weiterempfehlung und {needed} der {topics} Themen."
    ),
    "grid_submit_button": "Die {n} fertigen Ansprechpartner absenden",
    "grid_submitted": "{n} Ansprechpartner abgesendet.",
    "grid_none_ready": "Noch kein Ansprechpartner ist bereit zum Absenden.",
    "how_long_seller_grid": (
        "Für alle {count} Ansprechpartner zusammen dauert es etwa {minutes} Minuten: eine "
        "Seite pro Thema, jeder Ansprechpartner eine Zeile."
    ),
}

_WORDS = {"en": MappingProxyType(_EN), "de": MappingProxyType({**_EN, **_DE})}
LANGUAGES: tuple[str, ...] = tuple(_WORDS)


def words(language: str) -> Mapping[str, str]:
    """The page wording for a language, English where a language has none."""
    return _WORDS.get(language, _WORDS["en"])


def phrase(lang_words: Mapping[str, str], key: str, /, **values: Any) -> str:
    """The sentence `key` with its values; when a value is missing, the variant of the
    sentence written without it (`<key>_no_<name>`), so no sentence has a hole or a
    stand-in that reads wrongly ("the account team at your account team")."""
    missing = missing_names(lang_words[key], values)
    return lang_words[variant_key(key, missing) if missing else key].format(**values)
