"""The compute budget's logic, through the whole local stack on the full-size DistilBERT architecture:
the worst request the API accepts (texts holding exactly MAX_REQUEST_TOKENS tokens) is answered, and one
token more is refused with 413 before any model work. Whether it is answered *in time* is `make
budget`'s job: here the handler waits up to 27 s, so a loaded 2-core machine still passes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.measure import build_full_size_model, worst_case_texts
from devstack.stack import LocalStack
from handler.contract import MAX_REQUEST_TOKENS
from model.training.data import read_tsv
from tests.support import SHARED_DATA, Http, start_stack

pytestmark = pytest.mark.devstack

MAX_LENGTH = 512  # the full-size model's truncation length


@pytest.fixture(scope="module")
def full_size_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Http]:
    model = build_full_size_model(SHARED_DATA / "distilbert-sst2", tmp_path_factory.mktemp("full") / "model")
    generous = {"FUNCTION_TIMEOUT_SECONDS": "29", "SAGEMAKER_MAX_ATTEMPTS": "1", "SAGEMAKER_READ_TIMEOUT": "27"}
    stack: LocalStack = start_stack(tmp_path_factory.mktemp("full-stack"), model=model, function_env=generous)
    yield Http(stack.api_url)
    stack.stop()


def long_reviews(tokens: int) -> list[str]:
    """The benchmark's worst-case texts: dev sentences, each text truncated to 512 tokens."""
    return worst_case_texts([e.text for e in read_tsv(SHARED_DATA / "sst2" / "dev.tsv")], tokens, MAX_LENGTH)


def test_worst_case_accepted_request_answers_200(full_size_api: Http) -> None:
    texts = long_reviews(MAX_REQUEST_TOKENS)
    assert all(len(t.split()) > MAX_LENGTH for t in texts)  # every text is truncated: 512 tokens each
    assert len(texts) * MAX_LENGTH == MAX_REQUEST_TOKENS
    status, _, body = full_size_api.post_json("/predict", {"texts": texts})
    assert status == 200, body
    assert [set(p) for p in body] == [{"label", "score"}] * len(texts)


def test_one_token_over_the_budget_is_refused_before_the_model(full_size_api: Http) -> None:
    texts = [*long_reviews(MAX_REQUEST_TOKENS), "ok"]  # "ok" adds [CLS] ok [SEP]: 3 tokens
    status, _, body = full_size_api.post_json("/predict", {"texts": texts})
    assert status == 413
    assert body["error"]["code"] == "TOO_MANY_TOKENS"
    assert str(MAX_REQUEST_TOKENS + 3) not in str(body)  # counts go to logs, never to the client
