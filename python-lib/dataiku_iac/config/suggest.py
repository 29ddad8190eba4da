"""'Did you mean' suggestions for misspelled keys, enum values and names: the one helper the
loader, the builder (unknown references) and the engine's remote checks (connections, code envs)
use, so a hint reads the same wherever it comes from."""

from __future__ import annotations

import difflib
from typing import Iterable, Optional


def closest(word: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate closest to `word`, or None when nothing is close enough."""
    pool = sorted({c for c in candidates if isinstance(c, str)})
    if not isinstance(word, str) or not pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]  # a case slip: 'Format' for 'format'
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> Optional[str]:
    """The hint "did you mean 'close'?" (the name quoted as Python quotes it), or None."""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match else None
