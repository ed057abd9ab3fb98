"""IOB2 tags: the token kind's rules, kept importable here for existing imports; they live with the token head in
:mod:`stmtl.heads.token.bio`."""

from stmtl.heads.token.bio import (  # noqa: F401
    check_iob2_labels,
    constrained_tags,
    decode_entities,
    entities_to_tags,
    entity_type,
    iob2_transitions,
    validate_tag,
)
