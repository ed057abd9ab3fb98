"""The data tests' ``check_error`` fixture, for the token kind's readers (CoNLL, tag schemes)."""

from tests.data.conftest import check_error  # noqa: F401
