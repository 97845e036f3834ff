"""French/English keyword rules for caller intents and info topics, on normalised text, robust to common ASR slips."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.dialog.acts import Answer, is_goodbye, is_repeat_request, yes_no
from agent.dialog.text import normalise, word_count


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# A wider clinical lexicon (body, fever in figures, states, self-harm, ingestion, injury), FR and EN.
SYMPTOM_LEXICON = (
    r"\b(?:tete|crane|ventre|poitrine|thorax|coeur|oreilles?|oeil|yeux|gorge|dos|jambes?|bras|genou|cheville|"
    r"pied|mains?|visage|bouche|peau|nez|dents?|chest|head|stomach|belly|throat|ear|eyes?|ankle|knee|arm|leg|"
    r"lips?|tongue|skin|face)\b.*\b(?:mal|rouge|gonfle|enfle|tordue?|cassee?|coule|grattent|pleurent|engourdi\w*|"
    r"lache|travers|tombe|dropped|swell\w*|blue|bleue?s?|hurt\w*|red|broken|numb|blister\w*|weight|sitting)\b|"
    r"\b(?:3[5-9]|4[0-2])(?: ?[.,] ?\d| \d)?\b(?! ans)|\btrente (?:cinq|six|sept|huit|neuf)\b|\bquarante\b(?! ans)|"
    r"\b(?:degres|molle?|repond (?:pas|plus|pu)|reveill\w*|convuls\w*|trembl\w*|mourir|me tuer|se tuer|en finir|"
    r"suicid\w*|idees noires|foutre en l air|que tout s arrete|cachets|avale|bu du|entorse|fracture|sciatique|"
    r"cystite|rhume|frissons|palpitations?|tetanos|asthm\w*|ventoline|inhaler|selles|pale|oppression|confus\w*|"
    r"bafouill\w*|paraly\w*|transpire|tourne|souffle|sang|gicle|brule\w*|pique\w*|guepe|collapsed|not responding|"
    r"unconscious|chok\w*|swallowed|breathing|breeding|wheez\w*|fitting|seizure|fell|hit (?:his|her|my) head|"
    r"dark thoughts|end it|kill myself|don t want to be here|twisted|burn\w*|scald\w*|allergic|stung|"
    r"ne respire|respire (?:pas|plus|mal)|tout bleu|grey|gray|voi[st] (?:plus|double|flou)|force|tordu\w*)\b"
)
INFO_SURE = _rx(
    r"(?:c est |ca coute )?combien (?:ca coute|coute|une consultation|pour une|la consultation)", "how much",
    r"carte (?:bleue|bancaire)", "cheques?", "paiement", "payer", "tiers payant", "visites? a domicile",
    "home visits?", r"(?:prend|prennent|accepte\w*) (?:encore )?(?:de )?nouveaux patients", "taking new patients",
    r"resultats? .*(?:arrive\w*|revenu\w*|sont la|dispo\w*)", r"results? .*back",
    r"(?:est ce qu il y a|vous avez|y a t il) un (?:cardiologue|dermatologue|pediatre|dentiste|kine|gyneco\w*)",
)
WRONG_NUMBER = _rx(
    r"(?:wrong|mauvais|faux) numero", "wrong number", r"trompe\w* de numero", r"(?:j appelle|calling) (?:de|from) la "
    r"(?:pharmacie|banque|mairie)", r"this is the pharmacy", "offre commerciale", "sondage",
)

# Asking to be seen without saying "rendez-vous": a booking.
SEE_DOCTOR = (
    r"(?:voudrais|veux|aimerais|faudrait|faut) (?:que le (?:medecin|docteur) (?:regarde|voie|me voie)|"
    r"en parler au (?:medecin|docteur)|faire (?:le point|un bilan)|un bilan|un arret de travail|un check up)",
    r"bilan (?:de sante|sanguin)", r"check ?up", "sick note", r"arrets? de travail", r"visite medicale",
    r"flu (?:jab|shot)", r"vaccin\w*", r"jab", r"faire vacciner",
)

# Strong cues settle the intent on their own; order is precedence when several fire.
STRONG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("human", _rx(
        r"parler (?:a|avec) (?:quelqu un|une personne|un humain|une vraie personne|la secretaire|un secretaire|"
        r"le secretariat|une secretaire|quelqu un de reel|un etre humain|un vrai)", "passez moi", "pas (?:a )?un robot",
        "secretariat", "secretaire", "standardiste",
        r"parler (?:a|au|avec) (?:un |le |l )?(?:medecin|docteur|assistante)", "un humain", "une vraie personne",
        "real person", "human",
        "receptionist", "operator", "someone real", r"talk to (?:someone|somebody|a person)",
        r"speak (?:to|with) (?:someone|somebody|a person)", "put me through", "en relation avec",
    )),
    ("cancel", _rx(
        r"annul\w*", r"decommand\w*", "cancel", "cancell?ed", "cancelling", "call off", r"supprim\w* (?:le|mon) rendez",
        r"(?:pourrai|pourrais|peux|pourra|pourrons) pas venir", r"ne (?:viendrai|viendra|viendrons) pas",
        r"won ?t be able to (?:come|make it)", r"can ?t make it", r"can ?t come",
    )),
    ("reschedule", _rx(
        r"deplac\w*", r"decal\w*", r"report\w*", "reschedul\\w*", r"change\w* (?:l heure|la date|le jour|de jour|"
        r"de date|d heure|de creneau|mon rendez|le rendez|l horaire)", r"modifi\w* (?:mon|le|l heure|la date)",
        r"avanc\w* (?:mon|le) (?:rendez|rdv)", "un autre (?:jour|creneau|horaire)",
        r"(?:le|la) (?:mettre|passer) (?:a|au|plutot|le|lundi|mardi|mercredi|jeudi|vendredi|samedi)",
        r"move (?:my|the) appointment",
        r"change (?:my|the) appointment", r"change the (?:time|date|day)", "push (?:my|it)", "another (?:day|time)",
    )),
    ("confirm", _rx(
        r"confirm\w*", r"verifi\w* (?:que|mon|le|l heure|la date|si)", "quelle heure (?:est|etait) mon",
        r"a quelle heure (?:est|j ai) (?:mon|rendez)", "heure de mon rendez", "date de mon rendez",
        "toujours (?:maintenu|valable|d actualite)", r"est ce que j ai (?:bien )?(?:un )?rendez",
        r"j ai bien (?:un )?rendez", r"what time is my", r"is my appointment still",
        r"do i (?:still )?have an appointment", r"check (?:my|that i have|if i|whether i)",
        r"(?:if|whether) i (?:still )?have an appointment", "rappeler (?:l heure|la date) de mon", "me souviens plus",
    )),
    ("prescription", _rx(
        r"ordonnances?", r"ordo", "ordre nance", "or donnance", r"renouvel\w*", "prescriptions?", "refill",
        r"renew\w*", r"traitement habituel", "plus de (?:medicaments|comprimes|pilules|cachets)",
        "ran out of (?:my )?(?:medication|pills)",
    )),
    ("message", _rx(
        r"laisser un (?:petit )?message", "leave a message", "un message pour", "message for",
        r"(?:me|la|le) rappel\w*", "rappelle", "call me back", "call back", "resultats?", r"results?",
        r"certificats?", "certificate", "transmettre", "transmettez", "faire passer", "pass on",
        r"compte rendu", "courrier", "lettre pour", r"dites (?:lui|au (?:docteur|medecin))",
        "tell (?:the )?doctor", "analyses? de sang", "prise de sang",
    )),
    ("info", _rx(
        r"horaires?", "heures d ouverture", r"ouvert\w*", r"ferm\w*", r"adresse", "address", "ou se trouve",
        "ou est (?:le|la|votre) (?:cabinet|maison|centre)", r"ou (?:vous etes|etes vous)",
        "comment (?:venir|aller|acceder|on vient|je viens)",
        "parking", r"garer", "stationn\\w*", "metro", "bus", "tram", r"acces\w*", "ascenseur", "fauteuil roulant",
        "handicap\\w*", r"apport\w*", r"amen(?:er|e)", "bring", "rue", "carte vitale", "mutuelle", "what to bring",
        "should i bring",
        "opening hours", "open(?:ing)?", "closing", "closed", "located", "directions", "get there",
        "numero de (?:telephone|tel) du", "votre numero", "phone number", "wheelchair", "tarifs?", "combien coute",
        "how much", "prix", "tiers payant", "conventionne", "secteur",
    )),
    ("symptom", _rx(
        r"j ai mal", "mal (?:a|au|aux) (?:la|le|l|les)?", r"douleurs?", r"fievres?", r"temperature", r"touss\w*",
        r"toux", r"saign\w*", r"vomi\w*", r"vertiges?", "nausee", r"diarrhee", r"brulure\w*", r"boutons?",
        r"plaque\w*", r"gonfl\w*", r"enfl\w*", r"essouffl\w*", r"respir\w*", "malaise", r"migraine", "je me sens",
        "tombe", "chute", "pain", "hurts?", "hurting", "fever", r"cough\w*", r"bleed\w*", r"vomit\w*", "dizzy",
        "rash", "swollen", "headache", "sore", "breath", "sick", "malade", "fatigue", "enceinte", "contraction\\w*",
        "allergi\\w*", "piqure", "mordu", "angine", "grippe", "covid", "crise",
    )),
    ("symptom", re.compile(SYMPTOM_LEXICON)),
    ("book", _rx(
        r"prendre (?:un )?(?:rendez|rdv)",
        r"(?:un|1) (?:nouveau |premier )?(?:rendez vous|rendez|rdv|rendevou|rende vous)",
        r"consult\w*", r"voir (?:le|la|un|une) (?:docteur|medecin|dr|sage|kine|dentiste|pediatre|generaliste)",
        "me recevoir", "le recevoir", "la recevoir", r"disponibilit\w*", r"creneaux?", r"de la place", r"reserv\w*",
        "book", "appointment", "see (?:the|a) (?:doctor|gp|nurse|midwife)", "availability", "slot", "visit",
        *SEE_DOCTOR,
    )),
)


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules found: the label, whether they are sure, and every intent that fired."""

    label: str
    sure: bool
    fired: tuple[str, ...]


def rule_intent(text: str) -> RuleVerdict | None:
    """The rules' opinion, or None when no cue fired. Sure = one task cue, or a clear short dialog act."""
    key = normalise(text)
    if not key:
        return None
    if WRONG_NUMBER.search(key):
        return RuleVerdict("other", True, ("other",))
    fired = tuple(dict.fromkeys(label for label, pattern in STRONG if pattern.search(key)))
    if INFO_SURE.search(key) and not set(fired) & {"cancel", "reschedule", "confirm", "human"}:
        return RuleVerdict("info", True, ("info", *fired))
    act = _act(text, key, bool(fired))
    if act is not None:
        return RuleVerdict(act, True, (act, *fired))
    if not fired:
        return None
    if "book" in fired and BOOK_REQUEST.search(key) and not set(fired) & {"cancel", "reschedule", "confirm", "human"}:
        return RuleVerdict("book", True, fired)
    return RuleVerdict(_precedence(fired), len(fired) == 1 or _clear_winner(fired), fired)


def _act(text: str, key: str, has_task: bool) -> str | None:
    """Dialog acts win over tasks only when the utterance carries no task cue (or is a short goodbye)."""
    if is_goodbye(text) and (not has_task or word_count(text) <= 6):
        return "goodbye"
    if is_repeat_request(text) and (not has_task or word_count(text) <= 4):
        return "repeat"
    if has_task or word_count(text) > 6:
        return None
    answer = yes_no(text)
    if answer is Answer.YES:
        return "yes"
    return "no" if answer is Answer.NO else None


# "je voudrais un rendez-vous pour un renouvellement": an explicit appointment request is a booking.
BOOK_REQUEST = _rx(
    *SEE_DOCTOR,
    r"(?:voudrais|voudrait|veux|voulais|souhaite\w*|aimerais|besoin d|faudrait|faut|prendre|avoir|pour) (?:un |1 )?"
    r"(?:nouveau |petit )?(?:rendez vous|rendez|rdv|rendevou)", r"un rendez vous pour",
    r"(?:book|make|need|get|want) an appointment",
)


def _precedence(fired: tuple[str, ...]) -> str:
    """Cancel/reschedule/confirm beat 'rendez-vous' (book); a symptom beats 'rendez-vous' only without one."""
    tasks = [label for label in fired if label not in ("book", "symptom", "info")]
    if tasks:
        return tasks[0]
    if "book" in fired:
        return "book"
    return fired[0]


def _clear_winner(fired: tuple[str, ...]) -> bool:
    """Book + symptom ('un rendez-vous, j'ai de la fièvre') is a booking; other mixes are left to the model."""
    rest = set(fired) - {"book", "symptom"}
    return not rest or (len(rest) == 1 and rest <= _DECISIVE)


_DECISIVE = frozenset({"cancel", "reschedule", "confirm", "human", "prescription", "message"})


TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("what_to_bring", _rx(
        r"apport\w*", r"amen(?:er|e)", "venir avec", "carte vitale", "mutuelle", "bring", "what do i need"
    )),
    ("phone", _rx("numero", "telephone", "phone", "joindre", "number")),
    ("access", _rx("parking", "garer", r"stationn\w*", "metro", "bus", "tram", r"acces\w*", "ascenseur",
                   "fauteuil", r"handicap\w*", "comment (?:venir|aller|on vient|je viens)", "get there",
                   "directions", "wheelchair", "train", "gare")),
    ("address", _rx("adresse", "address", "ou se trouve", "ou est", "ou etes", "ou vous etes", "located",
                    "rue", "where")),
    ("hours", _rx(r"horaires?", r"ouvert\w*", r"ferm\w*", r"heures? d ouverture", "open", "closed", "closing",
                  "hours", "quelle heure", "what time", "jusqu a quelle")),
)


def rule_topic(text: str) -> str | None:
    key = normalise(text)
    return next((topic for topic, pattern in TOPICS if pattern.search(key)), None)
