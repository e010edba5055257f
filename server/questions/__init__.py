"""Questions: named SPARQL queries read from queries/*.rq, each with a grlc-style header.

    #+ summary: Services bundled into a code
    #+ description: Components included in the code, and the codes that would report them alone.
    #+ params:
    #+   - {name: code, type: code, required: true, description: a procedure code}
    #+ tags: [educators]

Unlike grlc, a header that does not parse stops the start-up with the file's name, and
parameter values are bound by value (never pasted into the query text). A parameter is
the query variable of the same name and appears only in the outer WHERE group, so that a
remote backend injecting VALUES there gets the same answer as the embedded one.

The parts: model.py (a question, its parameters, an answer), reading.py (files and their
checks), binding.py (a value as a person writes it -> a term), catalogue.py (the set).
"""

from .binding import CODE_PATTERNS, LIST_SEPARATORS, MAX_LIST, MAX_LIST_CHARS, MAX_STRING, PAYER_SLUG, bind_value, code_schemes, resolve_code, resolve_payer
from .catalogue import Catalogue
from .model import Answer, HeaderError, Param, Question, plain
from .reading import PARAM_TYPES, RESERVED_PARAMS, PortabilityCache, check_cache, load_catalogue, read_question, vouched

__all__ = ["Answer", "CODE_PATTERNS", "Catalogue", "HeaderError", "LIST_SEPARATORS", "MAX_LIST", "MAX_LIST_CHARS", "MAX_STRING", "PARAM_TYPES", "PAYER_SLUG", "Param", "RESERVED_PARAMS",
           "PortabilityCache", "Question", "bind_value", "check_cache", "code_schemes", "load_catalogue", "plain",
           "read_question", "resolve_code", "resolve_payer", "vouched"]
