"""Token classification: IOB2 tags per word (slots, named entities), from the token embeddings.

``head.py`` holds the head, ``crf.py`` its linear-chain CRF's likelihood, ``decoding.py`` its torch-free decoder
(Viterbi over IOB2 tags into entity spans, with ``chain.py``'s Viterbi and marginals), ``metric.py`` its seqeval
scores, ``errors.py`` its entity errors, ``bio.py`` the IOB2 rules, ``tag_schemes.py`` the reading of IOB1, BIOES
and BILOU data into IOB2, and ``conll.py`` the CoNLL file reader. This file only names them for the registry
(:mod:`stmtl.heads.registry`): importing it imports nothing.
"""

KIND = "token"
HEAD = "stmtl.heads.token.head.TokenClassificationHead"
DECODER = "stmtl.heads.token.decoding.TokenDecoder"
LEGACY_TYPES = ("stmtl.heads.token_classification.TokenClassificationHead",)
DATA = "'tokens'/'tags' give task 'slots'"
READERS = dict.fromkeys((".conll", ".bio", ".iob", ".txt"), "stmtl.heads.token.conll.read_conll")
"""File suffixes whose reader this kind brings: CoNLL files (``conll.py``)."""
