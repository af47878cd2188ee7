"""Apology draft: four parts, and a coach that points out phrases that undo an apology.

The four parts follow the method: what I did; how I see it hurt you; I take full
responsibility; how I will make amends and change. The draft is private (its author and the
therapist) until the therapist releases it to the couple.

Workflow (path "reviewed", `practice.homework.workflow`): assigned to the partner who broke
trust; they write (saved as typed) and submit it to the therapist, who marks it reviewed,
returns it with a note, closes it, or releases it to the couple. Once released, it reaches
the other partner as something to read when they feel ready, never as a task
(`ApologyDraft.standing`).

The coach
---------
`ApologyDraft.coach` is a pure function of the content. It reports:

- each missing part (level "missing") and each thin part, a handful of words only ("tip");
- non-apologies ("flag"), each with the exact words as typed (`Finding.phrase`) and one kind
  line on why they matter. Each phrase is reported once per part (case and spacing ignored);
- a change plan with no concrete, time-bound step ("amends-not-concrete").

Kinds of non-apology: "sorry you felt", "sorry if", "if I hurt", "you made me", blame on the
partner, passive voice, minimisers, "but I", and

- "hedged-apology": "I guess I'm sorry", "I suppose I was wrong", "sorry, I guess", "I might
  have hurt you", "kind of sorry", "maybe I was wrong";
- "false-symmetry": shared or returned blame: "we both made mistakes", "it takes two", "it
  wasn't all my fault", "you're not perfect either", "you hurt me too", "what about when
  you", "you did the same";
- "rushing-forgiveness": "you need to forgive me", "let's put this behind us", "so we can
  move on", "it's in the past", "I have already apologised", "if you really loved me";
- "excuse": drink or drugs given as the reason ("because I was drunk", "the alcohol made
  me"), "anyone would have done the same", "everyone does it", "but you have to
  understand", "please try to understand".

The shared helpers (patterns, negation, sentences, time words) are in
`practice.homework.text`. Every pattern is a case-insensitive regular expression with word
boundaries, so "but" is
never found in "butter" or "rebuttal", nor "just" in "justice" or "justify". Straight and
curly apostrophes are both understood (phones type "I’m"). Where two findings would cover
the same words, only the first in `RULES` order is kept: "sorry if I hurt you" is one
"sorry-if", not also an "if-i-hurt"; "it just happened" is one "passive", not also a
"minimiser".

Choices on ambiguous wording (each has a test in tests/homework/test_apology_coach.py):

- "but I": flagged, as a "but" after an admission usually introduces a reason. Not flagged
  in "not only / not just ... but" within one sentence, nor when "but I" goes on with words
  that own the act ("but I also", "but I still", "but I chose", "but I decided", "but I did
  it anyway", "but I went ahead"). "but you never / always / didn't / kept ..." is blame.
- "only" and "just" are not flagged when what follows tells when, or what the writer wants
  or has come to see, rather than making the act smaller: "I just want you to know", "I
  only realised last week", "only now", "just when", "I only stopped when you found it",
  "I've only just started". They are still flagged before what happened ("only a few
  messages", "just friends", "we just talked", "only once"). Known misses: "I just wanted
  some attention" is not flagged.
- "only": flagged as a minimiser, except as an adjective after a determiner ("the only
  person I should blame is me", "my only excuse"), in "if only" (regret), "not only" and
  after a negation ("I didn't only lie"), and in "can / could only" ("I can only imagine how
  that felt"). "only once" / "just once" / "only twice" are reported as one phrase. Known
  misses: "it was the only time" (an adjective use) is not flagged.
- "just": flagged, except "justice", "justify", "unjust" (word boundaries), "a just cause"
  / "the just" (the adjective, after "a" or "the"), "just as" (as in "just as much"), and
  after a negation ("not just once", "I can't just say sorry").
- "a little": flagged, except "a little while" and "more than a little".
- Minimisers are not looked for in the change plan, where "only" and "just" usually set a
  limit ("I will only use my phone in the living room").
- "because you": blame, except when the reason is something good about the partner
  ("because you deserve the truth", "because you trusted me", "because you matter").
  "if you hadn't ..." is blame, except about finding out ("if you hadn't found the
  messages, I would still be lying"), which is an honest admission.
- "you made me": flagged, except with good feelings ("you made me happy", "you made me
  feel loved", "you made me a better person").
- "your fault": flagged, unless a negation comes earlier in the sentence ("none of this is
  your fault", "it was not your fault", "nothing you did was your fault").
- A negation a few words before turns the new rules around: "I don't think we both made
  mistakes", "I won't ask you to move on", "I don't expect you to understand". "I thought
  maybe I was in love" tells what was thought then, not a hedge; "the kind of hurt" is not
  "kind of hurt you". Drink named as what happened ("I got drunk and humiliated you", "I
  hid how much I was drinking") is not an excuse; given as the reason, it is. "Anyone would
  have been hurt" and "it will take time to get over it" are left alone.
- "sorry you feel / felt / are feeling / are upset" and "sorry for how you felt": flagged.
  "I'm sorry you were hurt by my lies" is not: it names the act, and plain "hurt" is too
  common in honest apologies to flag.
- "if I hurt you": flagged, but not "if I hurt you again" (a future promise).
- "it happened" (passive): looked for in "what I did" and "I take responsibility" only, and
  not after "how / why / when / where / what / after / before / since" ("after it happened,
  I lied again" uses it as a time, not to hide who did it). "mistakes were made" and the
  like are looked for everywhere but the change plan.
- A quotation of what not to say ('I won't say "sorry if" any more') is flagged like any
  other text: telling quotation from use is out of scope.
- The change plan counts as concrete when it has a number, a frequency ("every", "each",
  "daily", "weekly", "twice"), a day or time word ("by Friday", "tonight", "each week",
  "within 24 hours", "for the next 3 months") or a trigger ("whenever", "before", "after").
  "one day" / "someday" / "each other" / "from now on" / "always" / "never" / "than before"
  do not count, nor "am" (it was once read as a time: "I am going to be better").
  Whether the step itself is concrete is left to the therapist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import Finding, HomeworkKind, TextField, clean_text_fields, text_value
from practice.homework.standing import Facts, Section, Standing
from practice.homework.text import APOSTROPHE as _A
from practice.homework.text import (
    NEGATION,
    Matcher,
    compile_pattern,
    has_time,
    in_negated_sentence,
    negation_before,
    phrase_key,
    sentence_before,
    word_count,
)

WHAT, HURT, RESPONSIBILITY, AMENDS = "what_i_did", "how_it_hurt", "responsibility", "amends"
PARTS = (WHAT, HURT, RESPONSIBILITY, AMENDS)
NOT_AMENDS = (WHAT, HURT, RESPONSIBILITY)

FIELDS = [
    TextField(WHAT, "What I did", "Say plainly what you did, in your own words."),
    TextField(
        HURT, "How I see it hurt you", "Describe how you understand it affected your partner."
    ),
    TextField(
        RESPONSIBILITY,
        "I take full responsibility",
        "Own your choices, with no reasons that point elsewhere.",
    ),
    TextField(
        AMENDS,
        "How I will make amends and change",
        "Name concrete steps you will take, and when or how often.",
    ),
]

MISSING = {
    WHAT: "Name what you did, plainly. Your partner needs to hear that you know.",
    HURT: "Say how you see it hurt your partner. It shows you understand the impact.",
    RESPONSIBILITY: "Say that you take responsibility, in your own words.",
    AMENDS: "Describe what you will do to make amends and change.",
}
THIN = {
    WHAT: "A few more words would help: what exactly did you do?",
    HURT: "A few more words would help your partner feel you see what it did to them.",
    RESPONSIBILITY: "Say a little more about what you take responsibility for.",
    AMENDS: "A few more words would help: what will you do, and when?",
}
# A part with fewer words than this gets a "thin" tip.
MIN_WORDS = {WHAT: 6, HURT: 8, RESPONSIBILITY: 5, AMENDS: 8}

# A negation a few words before a match: "I won't ask you to", "I don't think we both".
_NEGATED_JUST_BEFORE = compile_pattern(negation_before(4))


@dataclass(frozen=True)
class Rule:
    """One kind of non-apology: a pattern and the cases where the words mean something else."""

    code: str
    pattern: re.Pattern[str]
    message: str
    parts: tuple[str, ...] = PARTS
    not_before: re.Pattern[str] | None = None  # searched in the text just before
    not_after: re.Pattern[str] | None = None  # matched against the text just after
    skip: Callable[[str, re.Match[str]], bool] | None = None  # any other exception

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        return Matcher(self.pattern, self.not_before, self.not_after, self.skip).finditer(text)


def _not_only_but(text: str, match: re.Match[str]) -> bool:
    return bool(re.search(r"\bnot\s+(?:only|just)\b", sentence_before(text, match.start()), re.I))


MSG_SORRY_YOU_FELT = (
    "This puts the focus on how your partner feels rather than on what you did. "
    "Try “I’m sorry I …”."
)
MSG_SORRY_IF = "“If” makes the hurt sound uncertain. Say plainly what you are sorry for."
MSG_IF_I_HURT = "Your partner was hurt; “if” can sound like doubt. Name the hurt as real."
MSG_BUT = "A “but” after an apology can cancel it out. Try ending the sentence before it."
MSG_YOU_MADE_ME = "This makes your partner the reason for your choice. Describe your own choice."
MSG_BLAME = "This points to your partner’s part. In an apology, keep to your own."
MSG_MINIMISER = (
    "Words like this can make it sound smaller than it was for your partner. "
    "Check it reads the way you mean."
)
MSG_PASSIVE = "This leaves out who did it. Try saying it starting with “I”."
MSG_HEDGED = "Words like “I guess” or “maybe” make the apology sound unsure. Say it plainly."
MSG_SYMMETRY = (
    "This spreads the blame. An apology is about your part; your partner’s can wait for "
    "another time."
)
MSG_FORGIVE = (
    "This can read as asking your partner to hurry. Forgiving comes once they feel safe, "
    "in their own time."
)
MSG_EXCUSE = (
    "This can read as a reason that makes the choice less yours. Your partner needs to hear "
    "that it was yours."
)
MSG_AMENDS = (
    "Your plan will be easier to trust with one concrete step and when you will do it, "
    "for example “every Sunday” or “by Friday”."
)

# "Only" and "just" that tell when, or what the writer wants or has come to see, rather than
# making the act smaller: "I just want you to know", "I only realised last week".
_SINCERE = compile_pattern(
    r"\s+(?:as|now|recently|lately|then|really|just|want|wanted|wants|wish|wished|hope|hoped|"
    r"need|needed|realise[ds]?|realize[ds]?|learn(?:ed|t)?|found\s+out|understand|understood|"
    r"know|knew|noticed|can\s+imagine|pray|love|care|admitted|confessed|stopped|ended|"
    r"came\s+clean|owned\s+up|last|yesterday|today|tonight|before|after|when|since|"
    r"this\s+(?:week|morning|month|year|evening|afternoon)|to\s+(?:say|tell))\b"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "sorry-you-felt",
        compile_pattern(
            r"\bsorry\s+(?:that\s+|(?:for|about)\s+(?:how|the\s+way)\s+)?you"
            rf"(?:{_A}re|{_A}ve|\s+are|\s+were|\s+have|\s+had)?\s+(?:feel|felt|feeling|upset)\b"
        ),
        MSG_SORRY_YOU_FELT,
    ),
    Rule("sorry-if", compile_pattern(r"\b(?:sorry|apologi[sz]e)\s+if\b"), MSG_SORRY_IF),
    Rule(
        "if-i-hurt",
        compile_pattern(
            r"\bif\s+I\s+(?:have\s+(?:ever\s+)?|had\s+|(?:may|might)\s+have\s+)?"
            r"(?:hurt|upset|offended|caused|did\s+(?:anything|something)|made\s+you)\b"
        ),
        MSG_IF_I_HURT,
        not_after=compile_pattern(r"(?:\s+\w+){0,3}\s+again\b"),
    ),
    Rule(
        "hedged-apology",
        compile_pattern(
            # "I guess I'm sorry", "I suppose I was wrong", "sorry, I guess"
            r"\bI\s+(?:guess|suppose|reckon),?\s+(?:that\s+)?"
            rf"(?:I(?:{_A}m|{_A}ve|\s+am|\s+was|\s+should|\s+did|\s+owe|\s+hurt|\s+made|"
            r"\s+messed|\s+have|\s+might|\s+may)|it\s+was|that\s+was|sorry|my\s+bad)\b"
            r"|\b(?:sorry|apologi[sz]e),?\s+I\s+(?:guess|suppose)\b"
            # "I might have hurt you", "I may have been unfair"
            r"|\bI\s+(?:may|might)\s+have\s+(?:hurt|upset|lied|misled|overstepped|crossed|"
            r"gone\s+too\s+far|done\s+(?:something\s+)?wrong|made\s+(?:a\s+)?mistakes?|"
            r"been\s+(?:wrong|unfair|selfish|dishonest|careless|thoughtless|out\s+of\s+line))\b"
            # "kind of sorry", "sort of lied"
            r"|\b(?:kind|sort)\s+of\s+(?:sorry|wrong|lied|cheated|betrayed|messed\s+up|"
            r"hurt\s+you)\b"
            # "maybe I was wrong", "perhaps I went too far"
            r"|\b(?:maybe|perhaps|possibly|probably)\s+I\s+(?:was|did|hurt|should|went|crossed|"
            r"lied|made|messed|overreacted)\b"
            r"|\bI\s+feel\s+like\s+I\s+should\s+(?:apologi[sz]e|say\s+sorry)\b"
        ),
        MSG_HEDGED,
        parts=NOT_AMENDS,
        # "I thought maybe I was in love" tells what was thought then; "the kind of hurt".
        not_before=compile_pattern(
            r"\b(?:thought|told\s+myself|believed|wondered|hoped|figured|pretended)"
            r"(?:\s+that)?\s+$|\b(?:the|a|what|that|this|any|some|every|same)\s+$"
        ),
    ),
    Rule(
        "you-made-me",
        compile_pattern(r"\byou\s+(?:made|make|forced|drove|pushed)\s+me\b"),
        MSG_YOU_MADE_ME,
        not_after=compile_pattern(
            r"\s+(?:so\s+|very\s+|really\s+|feel\s+)?"
            r"(?:happy|happier|proud|laugh|smile|loved|safe|special|a\s+better|better)\b"
        ),
    ),
    Rule(
        "blame-other",
        compile_pattern(r"\bbecause\s+(?:of\s+)?you\b"),
        MSG_BLAME,
        not_after=compile_pattern(
            rf"(?:{_A}re|{_A}ve|\s+are|\s+were|\s+have|\s+had)?\s+"
            r"(?:deserve|deserved|matter|mattered|mean|meant|trust|trusted|believe|believed|"
            r"love|loved|worth|asked|needed|relied|counted|gave\s+me\s+a\s+chance)\b"
        ),
    ),
    Rule(
        "blame-other",
        compile_pattern(
            rf"\bif\s+(?:only\s+)?you(?:\s+hadn{_A}t|\s+had\s+not|\s+had|{_A}d|\s+would|"
            rf"\s+wouldn{_A}t|\s+weren{_A}t|\s+were\s+not|\s+were\s+(?:more|less)|"
            rf"\s+didn{_A}t|\s+did\s+not)\b"
        ),
        MSG_BLAME,
        not_after=compile_pattern(
            r"\s+(?:like|prefer|rather|want|let|any|questions?|(?:ever\s+)?need|"
            r"(?:not\s+)?(?:found|find|discovered|caught|seen|noticed|asked\s+me))\b"
        ),
    ),
    Rule(
        "blame-other",
        compile_pattern(
            rf"\bbut\s+you\s+(?:never|always|didn{_A}t|did\s+not|kept|started|wouldn{_A}t|"
            rf"weren{_A}t|were\s+never|ignored|pushed|left)\b"
        ),
        MSG_BLAME,
    ),
    Rule(
        "blame-other",
        compile_pattern(r"\b(?:your\s+fault|you\s+(?:gave|left)\s+me\s+no\s+choice)\b"),
        MSG_BLAME,
        skip=in_negated_sentence,
    ),
    Rule(
        "false-symmetry",
        compile_pattern(
            # "we both made mistakes", "both of us are to blame"
            r"\b(?:we\s+(?:both|each|all)|both\s+of\s+us|the\s+two\s+of\s+us)\s+(?:\w+\s+){0,2}?"
            r"(?:made\s+mistakes|messed\s+up|did\s+(?:things|wrong|bad\s+things)|to\s+blame|"
            r"hurt\s+each\s+other|at\s+fault|responsible|share\s+(?:the\s+)?blame|said\s+things|"
            r"(?:played|had|have|play)\s+(?:a|our)\s+part|were\s+wrong|failed|"
            r"let\s+each\s+other\s+down)\b"
            r"|\bit\s+takes\s+two\b"
            # "it wasn't all me", "it is not all my fault"
            rf"|\b(?:wasn{_A}t|isn{_A}t|was\s+not|is\s+not)\s+(?:all|only|just|entirely|"
            r"completely)\s+(?:me|mine|my\s+fault|on\s+me|down\s+to\s+me)\b(?!\s+(?:who|that))"
            # "you're not perfect either", "you hurt me too", "what about when you ..."
            rf"|\byou(?:{_A}re|\s+are|\s+were)\s+(?:not|no)\s+(?:perfect|innocent|blameless|"
            r"(?:a\s+)?saint|(?:an\s+)?angel)\b"
            rf"|\byou\s+weren{_A}t\s+(?:perfect|innocent|blameless|a\s+saint|an\s+angel)\b"
            r"|\byou\s+(?:\w+\s+)?(?:hurt|lied\s+to|betrayed|cheated\s+on|ignored|neglected|"
            r"yelled\s+at|shouted\s+at|disrespected)\s+me\s+(?:\w+\s+){0,3}?(?:too|as\s+well)\b"
            r"|\byou\s+(?:also\s+)?did\s+(?:it|this|that|the\s+same)(?:\s+thing)?"
            r"(?:\s+to\s+me)?\s+(?:too|as\s+well)\b|\byou\s+did\s+the\s+same\b"
            r"|\byou\s+also\s+(?:hurt|lied|cheated|betrayed|ignored|neglected)\b"
            r"|\bwhat\s+about\s+(?:when\s+|the\s+times?\s+)?you\b"
            r"|\byou\s+(?:\w+\s+)?(?:have|had|played|play)\s+(?:your|a)\s+(?:own\s+)?part\b"
        ),
        MSG_SYMMETRY,
        not_before=_NEGATED_JUST_BEFORE,
    ),
    Rule(
        "rushing-forgiveness",
        compile_pattern(
            # "you need to forgive me", "we have to move on", "let's put this behind us"
            rf"\byou\s+(?:need\s+to|have\s+to|must|should|(?:have|{_A}ve)\s+got\s+to|gotta|"
            r"ought\s+to)\s+(?:just\s+|try\s+to\s+|learn\s+to\s+|start\s+to\s+)?(?:forgive|"
            r"move\s+on|let\s+(?:it|this|that)\s+go|get\s+over|trust\s+me\s+again|"
            r"put\s+(?:it|this|that)\s+behind)\b"
            rf"|\b(?:we\s+(?:just\s+)?(?:need\s+to|have\s+to|must|should|ought\s+to|"
            rf"(?:have|{_A}ve)\s+got\s+to)|let{_A}s|let\s+us|so\s+(?:that\s+)?we\s+can|"
            r"(?:then|now)\s+we\s+can|can\s+we(?:\s+please)?)\s+(?:just\s+|finally\s+)?"
            r"(?:move\s+on|move\s+past\s+(?:it|this|that)|get\s+back\s+to\s+normal|"
            r"put\s+(?:it|this|that|all\s+(?:of\s+)?this)\s+behind\s+us|"
            r"forget\s+(?:about\s+)?(?:it|this|that)|start\s+(?:over|afresh|fresh|again))\b"
            r"|\btime\s+to\s+(?:move\s+on|let\s+(?:it|this|that)\s+go|forgive|"
            r"put\s+(?:it|this|that)\s+behind)\b"
            rf"|\b(?:it{_A}s|it\s+is|it\s+was|that{_A}s|that\s+is|that\s+was)\s+(?:all\s+)?"
            r"(?:in\s+the\s+past|behind\s+us|over\s+now|ancient\s+history)\b"
            r"|\b(?:get|got|getting)\s+over\s+it\b|\blet\s+it\s+go\b|\bforgive\s+and\s+forget\b"
            r"|\bstop\s+bringing\s+(?:it|this|that)\s+up\b"
            r"|\byou\s+(?:always\s+|just\s+)?keep\s+bringing\s+(?:it|this|that)\s+up\b"
            rf"|\bI(?:{_A}ve|\s+have)?\s+already\s+(?:apologi[sz]ed|said\s+(?:I{_A}m\s+|I\s+am\s+)?"
            r"sorry)\b"
            r"|\bhow\s+many\s+(?:more\s+)?times\s+(?:do|must|should|will|can)\s+I\b"
            r"|\bif\s+you\s+(?:really\s+|truly\s+)?loved\s+me\b"
            rf"|\b(?:when|why)\s+(?:will|can{_A}t|won{_A}t|don{_A}t)\s+you\s+(?:just\s+)?"
            r"(?:forgive|move\s+on|let\s+(?:it|this|that)\s+go|trust\s+me|get\s+over)\b"
        ),
        MSG_FORGIVE,
        # "I won't ask you to let it go"; "it will take time to get over it".
        not_before=compile_pattern(
            negation_before(4) + r"|\b(?:time|long|while|months|years|help\s+you)\s+to\s+$"
        ),
    ),
    Rule(
        "excuse",
        compile_pattern(
            # drink or drugs given as the reason: "because I was drunk", "the alcohol made me"
            rf"\b(?:because|since|but|cause|cos|{_A}cause)\s+(?:I|we)\s+(?:was|were|had|{_A}d|"
            r"had\s+been|got)\s+(?:\w+\s+){0,3}?(?:drunk|high|wasted|stoned|intoxicated|"
            r"hammered|tipsy|drinking|drinks|to\s+drink|using)\b"
            r"|\b(?:the\s+)?(?:alcohol|drink|drinking|drugs|booze|wine|beer|pills)\s+"
            r"(?:made\s+me|was\s+talking|talking|took\s+over|got\s+the\s+better\s+of\s+me)\b"
            r"|\bunder\s+the\s+influence\b"
            rf"|\b(?:wasn{_A}t|was\s+not)\s+(?:myself|thinking\s+(?:straight|clearly)|"
            r"in\s+my\s+right\s+mind)\b"
            # "anyone would have done the same", "everyone does it"
            r"|\b(?:anyone|anybody|everyone|everybody|most\s+(?:people|men|women|guys|partners)|"
            r"any\s+(?:man|woman|guy|girl|person|husband|wife|partner))(?:\s+else)?"
            r"(?:\s+in\s+my\s+(?:position|place|shoes|situation))?"
            rf"\s+(?:would|{_A}d|might)(?:\s+have|{_A}ve)?\s+(?:done|do|cheated|fallen|gone|"
            r"given\s+in|reacted|said\s+yes|been\s+tempted|strayed|lied|snapped)\b"
            r"|\b(?:everyone|everybody|lots\s+of\s+people|most\s+people)\s+(?:does|do|did)\s+"
            r"(?:it|this|that)\b"
            r"|\bhappens\s+(?:to\s+)?(?:everyone|everybody|all\s+the\s+time|"
            r"in\s+every\s+(?:marriage|relationship))\b"
            # "but you have to understand", "please try to understand"
            rf"|\b(?:(?:but\s+)?you\s+(?:have\s+to|need\s+to|must|should|gotta|"
            rf"(?:have|{_A}ve)\s+got\s+to)|please|but)\s+(?:just\s+)?(?:try\s+to\s+)?understand\b"
        ),
        MSG_EXCUSE,
        not_before=_NEGATED_JUST_BEFORE,
    ),
    Rule(
        "passive",
        compile_pattern(
            r"\b(?:mistakes|things|words|errors|lies|(?:bad\s+)?choices)\s+"
            r"(?:were|have\s+been|had\s+been|got)\s+(?:made|said|done|told)\b"
        ),
        MSG_PASSIVE,
        parts=NOT_AMENDS,
    ),
    Rule(
        "passive",
        compile_pattern(
            r"\b(?:it|this|that|things|stuff)\s+(?:just\s+|simply\s+|somehow\s+)?"
            r"(?:happened|occurred|got\s+out\s+of\s+hand|went\s+too\s+far)\b"
        ),
        MSG_PASSIVE,
        parts=(WHAT, RESPONSIBILITY),
        not_before=compile_pattern(r"\b(?:how|why|when|where|what|after|before|since|until)\s+$"),
    ),
    Rule(
        "but-i",
        compile_pattern(r"\bbut,?\s+I\b"),
        MSG_BUT,
        not_after=compile_pattern(
            rf"(?:{_A}(?:m|ve|d|ll))?\s+(?:also|still|chose|decided|went\s+ahead|did\s+it\s+anyway)\b"
        ),
        skip=_not_only_but,
    ),
    Rule(
        "minimiser",
        compile_pattern(r"\b(?:only|just)\s+(?:once|twice|one\s+time|the\s+once)\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=compile_pattern(rf"{NEGATION}\s+$"),
    ),
    Rule(
        "minimiser",
        compile_pattern(r"\bonly\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=compile_pattern(
            rf"(?:{NEGATION}|\b(?:the|my|your|our|his|her|their|an|this|that|if|can|could))"
            r"\s+$"
        ),
        not_after=_SINCERE,
    ),
    Rule(
        "minimiser",
        compile_pattern(r"\bjust\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=compile_pattern(
            rf"(?:{NEGATION}(?:\s+\w+)?|\b(?:a|the|only|have|has)|{_A}ve)\s+$"
        ),
        not_after=_SINCERE,
    ),
    Rule(
        "minimiser",
        compile_pattern(r"\ba\s+little\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=compile_pattern(r"\bmore\s+than\s+$"),
        not_after=compile_pattern(r"\s+while\b"),
    ),
    Rule(
        "minimiser",
        compile_pattern(
            rf"\b(?:(?:not|no|\w+n{_A}t)\s+(?:a\s+|that\s+|such\s+a\s+)?(?:big|huge)(?:\s+a)?"
            rf"\s+deal|not\s+that\s+bad|no\s+big\s+thing)\b"
        ),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
    ),
)


def find_non_apologies(part: str, text: str) -> list[tuple[int, Finding]]:
    """The non-apology findings in one part, each with where it starts in the text."""
    found: list[tuple[int, Finding]] = []
    taken: list[tuple[int, int]] = []
    reported: set[tuple[str, str]] = set()
    for rule in RULES:
        if part not in rule.parts:
            continue
        for match in rule.matches(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            phrase = match.group(0)
            if (rule.code, phrase_key(phrase)) in reported:
                continue
            reported.add((rule.code, phrase_key(phrase)))
            found.append((start, Finding(rule.code, rule.message, part=part, phrase=phrase)))
    return found


def coach_apology(content: dict) -> list[Finding]:
    """Findings on an apology draft, part by part in reading order."""
    findings: list[Finding] = []
    for part in PARTS:
        text = text_value(content, part) if isinstance(content, dict) else ""
        if not text.strip():
            findings.append(Finding("missing-part", MISSING[part], part=part, level="missing"))
            continue
        if word_count(text) < MIN_WORDS[part]:
            findings.append(Finding("thin-part", THIN[part], part=part, level="tip"))
        findings.extend(finding for _, finding in sorted(find_non_apologies(part, text), key=_at))
        if part == AMENDS and not has_time(text):
            findings.append(Finding("amends-not-concrete", MSG_AMENDS, part=part))
    return findings


def _at(item: tuple[int, Finding]) -> int:
    return item[0]


class ApologyDraft(HomeworkKind):
    key = "apology"
    label = "Apology draft"
    shared_label = "Apology"
    summary = "Four parts: what you did, how it hurt, your responsibility, and your plan to change."
    coach_checked = (
        "No common non-apology phrases found, no part missing, and the plan says when. This is "
        "a pattern check: it cannot judge what is meant."
    )
    default_audience = Audience.PRIVATE
    default_mode = "one"
    default_role = "broke_trust"
    default_instructions = (
        "Write a first draft of your apology, one part at a time. Say what you did in plain "
        "words, how you understand it hurt your partner, that the responsibility is yours, "
        "and what you will do differently, and when. It does not need to be perfect: the "
        "coach points out phrases that can take away from an apology, and we will work on "
        "it together. Only you and your therapist see it until your therapist shares it."
    )

    fields: ClassVar[tuple[TextField, ...]] = tuple(FIELDS)

    def empty(self) -> dict:
        return {spec.key: "" for spec in FIELDS}

    def clean(self, content: object) -> dict:
        return clean_text_fields(content, FIELDS)

    def check_complete(self, content: dict) -> dict[str, str]:
        return {part: MISSING[part] for part in PARTS if not text_value(content, part).strip()}

    def coach(self, content: dict) -> list[Finding]:
        return coach_apology(content)

    def standing(self, facts: Facts) -> Standing:
        """A released apology reaches the partner it was written to as something to read when
        they feel ready, never as a task; its author sees that it was shared."""
        if facts.viewer_is_partner and not facts.viewer_is_author and facts.released:
            return Standing(
                f"{facts.author_name}'s apology is ready to read when you feel ready",
                Section.TO_READ,
                private=False,
            )
        if facts.viewer_is_partner and facts.viewer_is_author and facts.released:
            return Standing(
                f"Shared with {facts.other_name or 'your partner'} by your therapist",
                Section.DONE,
                private=False,
            )
        return super().standing(facts)


register(ApologyDraft())
