"""The Python SDK against a real tollgate: the whole pause-approve-redeem-run flow with a
reviewer's narrowing, and the typed errors."""

import threading

import pytest

import tollgate
from tollgate.v1 import approvals_pb2


def export(rows: int, action: str = "data.export"):
    return tollgate.request(
        subject="agent:exporter", action=action, resource_type="dataset",
        resource_id="users", params={"rows": rows}, intent="churn analysis",
    )


def in_background(fn):
    """Runs ``fn`` in a thread; returns a join that re-raises its failure."""
    failure = []

    def target():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            failure.append(e)

    t = threading.Thread(target=target)
    t.start()

    def join():
        t.join(timeout=30)
        if failure:
            raise failure[0]

    return join


def test_run_waits_for_the_reviewer_redeems_and_runs_the_narrowed_request(server, reviewer):
    target, _ = server
    join = in_background(lambda: reviewer(approvals_pb2.VERDICT_MODIFY, {"rows": 1000}))
    with tollgate.Client(target, token="agent-token") as client:
        approved = client.run(export(5000), lambda a: a, wait=30)
    join()
    assert approved.params == {"rows": 1000.0}
    assert approved.approval_id
    assert [c.path for c in approved.changes] == ["action.params.rows"]


def test_a_policy_denial_is_typed_and_the_action_never_runs(server):
    target, _ = server
    ran = []
    with tollgate.Client(target, token="agent-token") as client:
        with pytest.raises(tollgate.Denied) as denied:
            client.run(export(1, action="data.delete"), ran.append)
    assert denied.value.reasons == ["deleting is not allowed"]
    assert denied.value.approval_id is None
    assert ran == []


def test_a_reviewers_denial_and_a_wait_that_runs_out_are_typed(server, reviewer):
    target, _ = server
    with tollgate.Client(target, token="agent-token") as client:
        join = in_background(lambda: reviewer(approvals_pb2.VERDICT_DENY))
        with pytest.raises(tollgate.Denied) as denied:
            client.run(export(7), lambda a: a, wait=30)
        join()
        assert denied.value.approval_id
        with pytest.raises(tollgate.WaitTimedOut) as timed_out:
            client.run(export(8), lambda a: a, wait=0.2)
        assert timed_out.value.approval_id


def test_a_capability_redeems_once(server, reviewer):
    target, _ = server
    with tollgate.Client(target, token="agent-token") as client:
        answer = client.authorize(export(3))
        reviewer(approvals_pb2.VERDICT_APPROVE)
        approval = client.wait(answer.approval_id, timeout=30)
        client.redeem(approval.capability, approval.request)
        with pytest.raises(tollgate.Refused) as refused:
            client.redeem(approval.capability, approval.request)
    assert refused.value.reason == "capability already redeemed"
    assert refused.value.refusal == approvals_pb2.REDEEM_REFUSAL_ALREADY_REDEEMED
    assert refused.value.spent


def test_wait_with_no_time_left_returns_a_decision_already_made(server, reviewer):
    target, _ = server
    with tollgate.Client(target, token="agent-token") as client:
        answer = client.authorize(export(4))
        with pytest.raises(tollgate.WaitTimedOut):
            client.wait(answer.approval_id, timeout=0)
        reviewer(approvals_pb2.VERDICT_APPROVE)
        approval = client.wait(answer.approval_id, timeout=0)
    assert approval.state == approvals_pb2.APPROVAL_STATE_APPROVED
    assert approval.capability
