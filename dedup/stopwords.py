"""English stop words: scikit-learn's list, without scikit-learn's import.

``sklearn.feature_extraction.text.ENGLISH_STOP_WORDS`` is a constant in a
module of its own that imports nothing, but importing it runs scikit-learn's
package imports (scipy.stats, pandas when installed, ...): over a second on
every ``dedup`` command, for a word list. So the module's file is loaded on
its own, by path; if scikit-learn ever moves it, the list comes from the
public import instead (the same words, tested). Stateless.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's ``ENGLISH_STOP_WORDS`` (318 words, lower case)."""
    try:
        package = importlib.util.find_spec("sklearn")
        path = Path(package.origin).parent / "feature_extraction" / "_stop_words.py"
        spec = importlib.util.spec_from_file_location("dedup._sklearn_stop_words", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words = module.ENGLISH_STOP_WORDS
        if isinstance(words, frozenset) and words:
            return words
    except (AttributeError, ImportError, OSError, TypeError):
        pass
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS
