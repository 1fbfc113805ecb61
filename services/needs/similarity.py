"""Similar needs in German text, offline and without a model: no I/O in this module.

A need is turned into two bags of features, each weighted by TF-IDF over the known needs:
- word stems: lower case, umlauts and ß folded (so "Straße" and "Strasse" meet), stop words
  dropped, common abbreviations expanded ("DMS" -> Dokument, Management, System), a light
  suffix stemmer for inflection ("Anträge"/"Antrag", "Schulen"/"Schule");
- character 4-grams of every stem, which let a compound like "Dokumentenmanagementsystem" meet
  its parts ("Dokumentenmanagement", "DMS-Einführung" after expansion).
The score is a weighted sum of the two cosine similarities.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e"})
_TOKEN = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset(
    """
    aber alle allen aller alles als also am an ander andere anderen auch auf aus bei beim bin bis
    bisher bitte brauchen braucht da damit dann das dass dem den denn der des die dies diese diesem
    diesen dieser dieses doch dort durch ein eine einem einen einer eines einfach er es etwa etwas
    fuer gibt gern gerne gibt hat haben hier ich ihr ihre im immer in ins ist ja jede jedem jeden
    jeder jedes kann koennen koennte kein keine keinen man mehr mit moechten muessen muss nach nicht
    noch nur ob oder ohne per pro schon sehr sein seine sich sie sind so soll sollen sollte sowie
    ueber um und uns unser unsere unserem unseren unserer viel viele vom von vor war waere was weil
    welche wenn werden wie wir wird wo wollen wuerden zu zum zur zwischen
    bedarf bedarfe benoetigen benoetigt fehlt fehlen gesucht suchen wunsch wuenschen loesung
    kommune kommunen gemeinde gemeinden stadt verwaltung verwaltungen
    """.split()
)

# Abbreviations and spelling variants, keyed by folded token.
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "dms": ("dokument", "management", "system"),
    "eakte": ("elektronisch", "akte"),
    "ki": ("kuenstlich", "intelligenz"),
    "wlan": ("drahtlos", "netz"),
    "wifi": ("drahtlos", "netz"),
    "ozg": ("onlinezugang", "gesetz"),
    "it": ("informationstechnik",),
    "edv": ("informationstechnik",),
    "rz": ("rechenzentrum",),
    "isms": ("informationssicherheit", "management"),
    "bsi": ("informationssicherheit",),
    "efa": ("einer", "fuer", "alle"),
    "gis": ("geoinformation", "system"),
    "vpn": ("netz", "zugang"),
    "mfa": ("anmeldung", "faktor"),
    "2fa": ("anmeldung", "faktor"),
    "xrechnung": ("rechnung", "elektronisch"),
    "erechnung": ("rechnung", "elektronisch"),
    "ebilling": ("rechnung", "elektronisch"),
    "homeoffice": ("mobil", "arbeit"),
    "telearbeit": ("mobil", "arbeit"),
    "kita": ("kindertagesstaette",),
    "kitas": ("kindertagesstaette",),
    "mail": ("email",),
    "emails": ("email",),
    "onlineantrag": ("online", "antrag"),
    "digitalisierung": ("digital",),
    "digitalisieren": ("digital",),
    "digitale": ("digital",),
    "digitalen": ("digital",),
    "elektronische": ("elektronisch",),
    "elektronischen": ("elektronisch",),
}

_SUFFIXES = ("ungen", "innen", "heiten", "keiten", "ern", "em", "en", "er", "es", "e", "n", "s")


def fold(text: str) -> str:
    return text.lower().translate(_FOLD)


def stem(word: str) -> str:
    """A light German stemmer: strips one inflection suffix and folds the plural umlaut."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    # plural umlauts ("antraege" -> "antrag"): after folding they show as "ae"/"oe"/"ue"
    return word.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def tokens(text: str) -> list[str]:
    folded = fold(text)
    # "E-Akte", "E-Rechnung": join the one-letter prefix before splitting on the hyphen
    folded = re.sub(r"\be-(?=[a-z])", "e", folded)
    out: list[str] = []
    for raw in _TOKEN.findall(folded):
        for word in EXPANSIONS.get(raw, (raw,)):
            if word in STOPWORDS or len(word) < 2:
                continue
            out.append(stem(word))
    return out


def grams(stems: Iterable[str], n: int = 4) -> list[str]:
    out: list[str] = []
    for s in stems:
        padded = f"_{s}_"
        if len(padded) <= n:
            out.append(padded)
        else:
            out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


def _weights(counts: Counter[str], idf: dict[str, float], default_idf: float) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, default_idf) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str


def features(title: str, text: str) -> tuple[Counter[str], Counter[str]]:
    # the title says most about a need: count it twice
    stems = tokens(title) * 2 + tokens(text)
    return Counter(stems), Counter(grams(stems))


@dataclass
class Index:
    """Features of all known needs; rebuilt when the set of needs changes."""

    word_weight: float = 0.4
    docs: dict[str, int] = field(default_factory=dict)  # need id -> position in `_ids`
    titles: dict[str, str] = field(default_factory=dict)
    _ids: list[str] = field(default_factory=list)
    _word_idf: dict[str, float] = field(default_factory=dict)
    _gram_idf: dict[str, float] = field(default_factory=dict)
    _default_idf: float = 1.0
    # inverted lists: feature -> (positions, weights). A query visits only the documents
    # sharing a feature with it instead of computing a cosine with every need: ~200 ms -> a few
    # ms over 5,000 needs (docs/performance.md). The sums are the same cosines. Compact arrays,
    # not tuples: a list of tuples took ~100 MB for 5,000 needs.
    _word_postings: dict[str, tuple[array[int], array[float]]] = field(default_factory=dict)
    _gram_postings: dict[str, tuple[array[int], array[float]]] = field(default_factory=dict)

    @classmethod
    def build(cls, documents: Sequence[Document]) -> Index:
        index = cls()
        raw = {d.id: features(d.title, d.text) for d in documents}
        n = len(raw) or 1
        word_df: Counter[str] = Counter()
        gram_df: Counter[str] = Counter()
        for words, gs in raw.values():
            word_df.update(words.keys())
            gram_df.update(gs.keys())
        index._default_idf = math.log((n + 1) / 1) + 1.0
        index._word_idf = {t: math.log((n + 1) / (df + 1)) + 1.0 for t, df in word_df.items()}
        index._gram_idf = {t: math.log((n + 1) / (df + 1)) + 1.0 for t, df in gram_df.items()}
        for d in documents:
            if d.id not in index.docs:
                index._insert(d, *raw[d.id])
        return index

    def add(self, document: Document) -> None:
        """Add one need with the current weights, so it is found at once; the next full build
        (in the background) weighs it like the others."""
        if document.id not in self.docs:
            self._insert(document, *features(document.title, document.text))

    def _insert(self, document: Document, words: Counter[str], gs: Counter[str]) -> None:
        position = len(self._ids)
        self._ids.append(document.id)
        self.docs[document.id] = position
        self.titles[document.id] = document.title
        for postings, weights in (
            (self._word_postings, _weights(words, self._word_idf, self._default_idf)),
            (self._gram_postings, _weights(gs, self._gram_idf, self._default_idf)),
        ):
            for t, v in weights.items():
                entry = postings.get(t)
                if entry is None:
                    entry = postings[t] = (array("I"), array("d"))
                entry[0].append(position)
                entry[1].append(v)

    def query(
        self,
        text: str,
        limit: int = 5,
        *,
        min_score: float = 0.12,
        relative: float = 0.7,
        exclude: str | None = None,
    ) -> list[tuple[str, float]]:
        """Best matches first. Only matches close to the best one are returned: a need that is
        far weaker than the top suggestion would only distract (and lowers precision)."""
        words, gs = features("", text)
        if not words:
            return []
        qw = _weights(words, self._word_idf, self._default_idf)
        qg = _weights(gs, self._gram_idf, self._default_idf)
        # dense accumulators indexed by position: a list index is about twice as fast as the
        # dict lookups it replaces, and common 4-grams have postings in thousands of needs
        count = len(self._ids)
        word_sums = [0.0] * count
        for t, v in qw.items():
            entry = self._word_postings.get(t)
            if entry is not None:
                for i, w in zip(*entry, strict=True):
                    word_sums[i] += v * w
        gram_sums = [0.0] * count
        for t, v in qg.items():
            entry = self._gram_postings.get(t)
            if entry is not None:
                for i, w in zip(*entry, strict=True):
                    gram_sums[i] += v * w
        scored = []
        ww, gw = self.word_weight, 1 - self.word_weight
        for i, (ws, gs_) in enumerate(zip(word_sums, gram_sums, strict=True)):
            score = ww * ws + gw * gs_
            if score >= min_score and self._ids[i] != exclude:
                scored.append((self._ids[i], round(score, 4)))
        scored.sort(key=lambda item: (-item[1], item[0]))
        if scored:
            best = scored[0][1]
            scored = [item for item in scored if item[1] >= relative * best]
        return scored[:limit]


@dataclass(frozen=True, slots=True)
class Evaluation:
    precision_at_3: float
    hit_rate_at_3: float
    queries: int
    pairs: int


def evaluate(corpus: Sequence[Document], pairs: Sequence[tuple[str, str, bool]]) -> Evaluation:
    """Precision@3 over labelled (query, need id, similar?) pairs.

    For each query the suggestions are the top 3 above the display threshold. Precision@3 is the
    share of shown suggestions that are labelled similar, over all queries (a suggestion labelled
    "not similar" or not labelled at all counts against it). The hit rate says how many queries
    with a similar need got it among their suggestions.
    """
    index = Index.build(corpus)
    relevant: dict[str, set[str]] = {}
    for query, doc_id, similar in pairs:
        relevant.setdefault(query, set())
        if similar:
            relevant[query].add(doc_id)
    shown = correct = hits = wanted = 0
    for query, rel in relevant.items():
        top = [doc_id for doc_id, _ in index.query(query, 3)]
        shown += len(top)
        correct += sum(1 for d in top if d in rel)
        if rel:
            wanted += 1
            hits += any(d in rel for d in top)
    return Evaluation(
        precision_at_3=correct / shown if shown else 0.0,
        hit_rate_at_3=hits / wanted if wanted else 0.0,
        queries=len(relevant),
        pairs=len(pairs),
    )
