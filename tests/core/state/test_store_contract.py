"""The state store's contract, the same on both backends: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable

import pytest

from destkit.errors import PayloadValidationError
from destkit.profiles import StoredProfiles
from destkit.state import (
    PARTITIONS,
    Ack,
    Bury,
    MarkDelivered,
    Park,
    ResolveDeadLetter,
    StateError,
    StateStore,
    TouchDeadLetter,
    Unpark,
    open_store,
    partition_of,
)
from destkit.state.sqlite import SQLiteStore

EVENT = {"type": "identify", "messageId": "m1", "userId": "u1", "traits": {"plan": "pro", "name": "Zoë"}}
KEY = ("m1", "target", "profiles")


def park(key: tuple[str, str, str] = KEY, *, due_in: float = 0.0, attempts: int = 1, code: str = "PROFILE_NOT_FOUND") -> Park:
    now = time.time()
    return Park(key, EVENT, attempts, code, f"{code} happened", now + due_in, now + 3600, now)


def bury(
    key: tuple[str, str, str] = KEY, parked_id: int | None = None, code: str = "BAD_REQUEST", at: float | None = None
) -> Bury:
    now = time.time() if at is None else at
    return Bury(key, EVENT, "hash", code, "no", 3, now, now, parked_id)


# --- the ledger -----------------------------------------------------------------------------------


async def test_the_ledger_holds_exactly_what_was_marked(store: StateStore) -> None:
    now = time.time()
    await store.apply([MarkDelivered(KEY, now), MarkDelivered(("m2", "target", "profiles"), now)])
    await store.apply([MarkDelivered(KEY, now)])  # again: still one entry
    asked = {KEY, ("m1", "target", "other"), ("m2", "target", "profiles"), ("m3", "target", "profiles")}
    assert await store.delivered(asked) == {KEY, ("m2", "target", "profiles")}
    assert await store.delivered(set()) == set()
    assert (await store.status(30)).ledger == 2


async def test_many_keys_are_looked_up_at_once(store: StateStore) -> None:
    keys = [(f"m{n}", "d", "s") for n in range(1200)]
    await store.apply([MarkDelivered(key, time.time()) for key in keys[::2]])
    assert await store.delivered(keys) == set(keys[::2])


# Keys and event texts as hostile as input gets once validated: quotes, escapes, text that looks
# like JSON or a number, characters outside the BMP.
AWKWARD = ['say "hi"', "back\\slash", '{"a": [1]}', "1e3", "007", "Zoë", "emoji 🎉", "tab\there", "", " "]


async def test_what_is_written_in_groups_reads_back_exactly(store: StateStore) -> None:
    # Many rows go to the store as one statement: what it gets back must be what went in.
    if isinstance(store, SQLiteStore):
        await store._run(lambda: store.db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999))
    keys = [(f"{text}-{n}", f"dest {text}", text) for n, text in enumerate(AWKWARD * 120)]
    at = 1_700_000_000.123456
    await store.apply([MarkDelivered(key, at) for key in keys])
    assert await store.delivered(keys) == set(keys)
    assert await store.delivered([(text, "dest", "sub") for text in AWKWARD]) == set()
    assert await store.prune_ledger(at) == 0 and await store.prune_ledger(at + 1e-5) == len(keys)
    texts = [json.dumps({"userId": "u1", "note": text, "n": n}, ensure_ascii=n % 2 == 0) for n, text in enumerate(AWKWARD * 120)]
    await store.accept([("u1", text) for text in texts], at)
    claimed = await store.claim_inbox("w", [partition_of("u1")], limit=len(texts))
    assert [event.event for event in claimed] == texts
    assert {event.received_at for event in claimed} == {at} and {event.partition for event in claimed} == {partition_of("u1")}
    await store.apply([Ack(event.id) for event in claimed[1:]])
    assert [event.id for event in await store.claim_inbox("heir", range(PARTITIONS), limit=10)] == [claimed[0].id]


async def test_pruning_forgets_only_older_deliveries(store: StateStore) -> None:
    now = time.time()
    await store.apply([MarkDelivered(("old", "d", "s"), now - 40 * 86400), MarkDelivered(("new", "d", "s"), now)])
    assert await store.prune_ledger(now - 30 * 86400) == 1
    assert await store.delivered([("old", "d", "s"), ("new", "d", "s")]) == {("new", "d", "s")}


async def test_a_group_of_operations_is_all_or_nothing(store: StateStore) -> None:
    unwritable = Park(KEY, {"not json": object()}, 1, "X", "x", time.time(), time.time(), time.time())
    with pytest.raises(TypeError):
        await store.apply([MarkDelivered(("m9", "d", "s"), time.time()), unwritable])
    assert await store.delivered([("m9", "d", "s")]) == set()


# --- parked deliveries ----------------------------------------------------------------------------


async def test_parking_twice_moves_the_same_entry_on(store: StateStore) -> None:
    await store.apply([park(due_in=60)])
    (first,) = await store.parked()
    await store.apply([park(due_in=300, attempts=2, code="TIMEOUT")])
    (again,) = await store.parked()
    assert again.id == first.id
    assert (again.attempts, again.parkings, again.error_code, again.event) == (3, 2, "TIMEOUT", EVENT)
    assert (again.first_seen, again.give_up_at) == (first.first_seen, first.give_up_at)  # the window does not move
    assert await store.next_due_at() == pytest.approx(time.time() + 300, abs=5)
    await store.apply([Unpark(again.id)])
    assert await store.parked_count() == 0 and await store.next_due_at() is None


async def test_only_due_deliveries_are_claimed_and_each_by_one_process(store: StateStore) -> None:
    await store.apply([park(("a", "d", "s")), park(("b", "d", "s")), park(("later", "d", "s"), due_in=600)])
    first = await store.claim_due("one", 10, lease=30)
    assert sorted(p.message_id for p in first) == ["a", "b"]
    assert await store.claim_due("two", 10, lease=30) == []  # claimed by a live process
    assert await store.claim_due("one", 10, lease=30) == []  # not twice by the same one either
    await store.apply([park(("a", "d", "s"))])  # parked again: the claim ends with it
    assert [p.message_id for p in await store.claim_due("two", 10, lease=30)] == ["a"]


async def test_a_claim_whose_lease_expired_is_taken_over(store: StateStore) -> None:
    await store.apply([park()])
    assert len(await store.claim_due("gone", 10, lease=0.2)) == 1
    await asyncio.sleep(0.4)
    assert [p.message_id for p in await store.claim_due("alive", 10, lease=30)] == ["m1"]


async def test_a_heartbeat_renews_the_parked_claims_of_its_process(store: StateStore) -> None:
    await store.apply([park()])
    await store.claim_due("busy", 10, lease=0.5)
    await store.heartbeat("busy", "delivery", 30)
    await asyncio.sleep(0.7)
    assert await store.claim_due("other", 10, lease=30) == []


# --- dead letters ---------------------------------------------------------------------------------


async def test_burying_a_parked_delivery_moves_it_to_the_dead_letters(store: StateStore) -> None:
    await store.apply([park()])
    (parked,) = await store.parked()
    await store.apply([bury(parked_id=parked.id, code="PROFILE_NOT_FOUND")])
    assert await store.parked_count() == 0
    (letter,) = await store.dead_letters(code="PROFILE_NOT_FOUND")
    assert (letter.message_id, letter.event, letter.mapping_hash, letter.attempts) == ("m1", EVENT, "hash", 3)
    assert await store.dead_letters(code="OTHER") == [] and await store.dead_letters(ids=[]) == []
    await store.apply([TouchDeadLetter(letter.id, 2, "BAD_REQUEST", "still no", time.time())])
    (touched,) = await store.dead_letters(ids=[letter.id])
    assert (touched.attempts, touched.error_code, touched.error_message) == (5, "BAD_REQUEST", "still no")
    await store.apply([ResolveDeadLetter(letter.id)])
    assert await store.dead_letters() == []


async def test_purging_dead_letters_by_date(store: StateStore) -> None:
    now = time.time()
    await store.apply([bury(("m1", "d", "s"), at=now - 7200), bury(("m2", "d", "s"), at=now)])
    assert await store.purge_dead_letters(before=now - 86400) == 0
    assert await store.purge_dead_letters(before=now - 3600) == 1
    assert [letter.message_id for letter in await store.dead_letters()] == ["m2"]
    assert await store.purge_dead_letters() == 1


# --- the inbox ------------------------------------------------------------------------------------


async def accept(store: StateStore, people: list[str]) -> None:
    await store.accept([(person, json.dumps({"userId": person, "n": n})) for n, person in enumerate(people)], time.time())


async def test_events_are_claimed_oldest_first_by_partition(store: StateStore) -> None:
    await accept(store, ["u1", "u2", "u1", "u3", "u1"])
    assert await store.inbox_depth() == 5
    mine = [partition_of("u1")]
    claimed = await store.claim_inbox("w1", mine, limit=2)
    assert [json.loads(e.event)["n"] for e in claimed] == [0, 2]
    assert {e.partition for e in claimed} == set(mine)
    rest = await store.claim_inbox("w1", mine, limit=10)  # what it claimed already is not handed out again
    assert [json.loads(e.event)["n"] for e in rest] == [4]
    assert await store.claim_inbox("w1", [], limit=10) == []


async def test_claims_of_a_process_that_is_gone_are_taken_over(store: StateStore) -> None:
    await accept(store, ["u1", "u1"])
    everything = list(range(PARTITIONS))
    assert len(await store.claim_inbox("gone", everything, limit=10)) == 2
    taken = await store.claim_inbox("heir", everything, limit=10)
    assert [json.loads(e.event)["n"] for e in taken] == [0, 1]


@pytest.mark.parametrize(
    "ending",
    [lambda store: store.release_partitions("w", [partition_of("u1")]), lambda store: store.retire("w")],
    ids=["partition given back", "process retired"],
)
async def test_a_claim_ends_when_its_partition_is_given_back_or_its_process_retires(
    store: StateStore, ending: Callable[[StateStore], Awaitable[None]]
) -> None:
    # Events claimed for a partition given back while the claim was on its way are left to its
    # next holder, which may be this process again.
    await accept(store, ["u1", "u1"])
    mine = [partition_of("u1")]
    assert len(await store.claim_inbox("w", mine, limit=10)) == 2
    await ending(store)
    assert [json.loads(e.event)["n"] for e in await store.claim_inbox("w", mine, limit=10)] == [0, 1]


async def test_a_partition_given_back_while_a_claim_is_on_its_way_lets_its_rows_go(store: StateStore) -> None:
    await accept(store, ["u1"] * 3000)  # a claim that takes a while
    mine = [partition_of("u1")]
    await asyncio.gather(store.inbox_depth(), store.inbox_depth())  # connections ready for both at once
    await asyncio.gather(store.claim_inbox("w", mine, limit=3000), store.release_partitions("w", mine))
    assert len(await store.claim_inbox("w", mine, limit=3000)) == 3000


async def test_a_process_can_hold_more_claims_than_a_statement_takes_arguments(store: StateStore) -> None:
    # A large runtime.concurrency keeps thousands of events claimed at once; SQLite builds take
    # from 999 to 250,000 arguments in one statement: this one is held to the smallest.
    if isinstance(store, SQLiteStore):
        await store._run(lambda: store.db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999))
    await accept(store, [f"u{n % 50}" for n in range(2001)])
    everything = list(range(PARTITIONS))
    assert len(await store.claim_inbox("w", everything, limit=2000)) == 2000
    assert len(await store.claim_inbox("w", everything, limit=10)) == 1


async def test_claims_made_at_once_by_one_process_never_overlap(store: StateStore) -> None:
    await accept(store, [f"u{n}" for n in range(40)])
    pages = await asyncio.gather(*(store.claim_inbox("w", range(PARTITIONS), limit=7) for _ in range(6)))
    ids = [event.id for page in pages for event in page]
    assert len(ids) == len(set(ids)) == 40


async def test_an_acknowledged_event_leaves_the_inbox(store: StateStore) -> None:
    await accept(store, ["u1", "u2"])
    first, second = await store.claim_inbox("w", range(PARTITIONS), limit=10)
    await store.apply([Ack(first.id)])
    assert await store.inbox_depth() == 1
    assert [e.id for e in await store.claim_inbox("another", range(PARTITIONS), limit=10)] == [second.id]


async def test_the_inbox_reports_its_oldest_event(store: StateStore) -> None:
    assert (await store.status(30)).oldest_waiting is None
    before = time.time()
    await accept(store, ["u1"])
    oldest = (await store.status(30)).oldest_waiting
    assert oldest is not None and before - 1 <= oldest <= time.time() + 1


# --- partitions and leases ------------------------------------------------------------------------


async def test_partitions_are_shared_out_and_held_under_lease(store: StateStore) -> None:
    assert await store.heartbeat("a", "delivery", 30) == []
    got_a = await store.acquire_partitions("a", 200, lease=30)
    got_b = await store.acquire_partitions("b", 200, lease=30)
    assert (len(got_a), len(got_b)) == (200, PARTITIONS - 200)
    assert not set(got_a) & set(got_b)
    assert await store.heartbeat("a", "delivery", 30) == got_a
    await store.heartbeat("b", "delivery", 30)
    assert await store.live_workers(30) == 2
    await store.release_partitions("a", got_a[:10])
    assert await store.acquire_partitions("b", 50, lease=30) == got_a[:10]
    await store.retire("a")
    assert await store.live_workers(30) == 1
    assert len(await store.acquire_partitions("c", PARTITIONS, lease=30)) == 190


async def test_a_lease_that_is_not_renewed_expires(store: StateStore) -> None:
    held = await store.acquire_partitions("silent", 5, lease=0.3)
    await asyncio.sleep(0.5)
    assert await store.heartbeat("silent", "delivery", 30) == []  # too late: lost, not silently renewed
    assert await store.acquire_partitions("alive", 5, lease=30) == held


async def test_processes_that_only_retry_parked_deliveries_take_no_share(store: StateStore) -> None:
    await store.heartbeat("cli", "parked", 30)
    await store.heartbeat("serve", "delivery", 30)
    assert await store.live_workers(30) == 1
    status = await store.status(30)
    assert sorted((w.worker, w.role) for w in status.workers) == [("cli", "parked"), ("serve", "delivery")]


# --- profiles and tokens --------------------------------------------------------------------------


async def test_profiles_keep_audiences_in_order_and_attributes_by_name(store: StateStore) -> None:
    ids = {"userId": "u1", "anonymousId": "a1"}
    await store.update_profiles("p", ids, ["vip", "churn"], [], {"plan": "pro", "bio": "x"}, 100.0)
    await store.update_profiles("p", {"userId": "u1"}, ["new"], ["churn"], {"bio": None}, 200.0)
    profile = await store.profile("p", "userId", "u1")
    assert profile is not None
    assert (profile.segments, profile.attributes, profile.updated_at) == (["vip", "new"], {"plan": "pro"}, 200.0)
    other = await store.profile("p", "anonymousId", "a1")
    assert other is not None and other.segments == ["vip", "churn"]
    assert await store.profile("other-destination", "userId", "u1") is None
    assert await store.profile_count("p") == 2


async def test_an_identity_holding_a_nul_character_is_refused_by_its_namespace_and_nothing_is_kept(
    store: StateStore,
) -> None:
    # PostgreSQL's text cannot hold a NUL, and SQLite would keep one: both refuse it alike, before writing.
    profiles = StoredProfiles(store, "p")
    with pytest.raises(PayloadValidationError, match="'email'") as refused:
        await profiles.update({"userId": "u1", "email": "a\x00b@example.com"}, audiences={"vip": True})
    assert "a\x00b" not in str(refused.value)  # the identity itself is not repeated
    with pytest.raises(PayloadValidationError, match="namespace"):
        await profiles.update({"user\x00Id": "u1"}, audiences={"vip": True})
    assert await store.profile_count("p") == 0


async def test_concurrent_profile_changes_from_two_processes_are_not_lost(store: StateStore, state_location: str) -> None:
    async with open_store(state_location) as second:
        changes = [
            (store if n % 2 else second).update_profiles("p", {"userId": "u1"}, [f"a{n}"], [], {f"k{n}": n}, float(n))
            for n in range(20)
        ]
        await asyncio.gather(*changes)
    profile = await store.profile("p", "userId", "u1")
    assert profile is not None
    assert sorted(profile.segments) == sorted(f"a{n}" for n in range(20))
    assert profile.attributes == {f"k{n}": n for n in range(20)}


async def test_tokens_are_kept_and_replaced(store: StateStore) -> None:
    assert await store.load_token("hubspot/acme") is None
    await store.save_token("hubspot/acme", {"access_token": "t1", "expires_at": 1.5})
    await store.save_token("hubspot/acme", {"access_token": "t2"})
    assert await store.load_token("hubspot/acme") == {"access_token": "t2"}


# --- what a store is for --------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "then"), [(True, False), (False, True)])
async def test_a_store_holds_rehearsals_or_real_deliveries_never_both(store: StateStore, first: bool, then: bool) -> None:
    await store.claim_purpose(rehearsal=first)
    await store.claim_purpose(rehearsal=first)  # the same kind again is fine
    with pytest.raises(StateError, match="rehearsal" if first else "real deliveries"):
        await store.claim_purpose(rehearsal=then)
    assert (await store.status(30)).rehearsal is first


async def test_status_counts_everything(store: StateStore) -> None:
    await accept(store, ["u1", "u2"])
    await store.apply([park(), bury(("m2", "d", "s")), MarkDelivered(("m3", "d", "s"), time.time())])
    await store.heartbeat("w", "delivery", 30)
    await store.acquire_partitions("w", 3, lease=30)
    status = await store.status(30)
    assert (status.queue_depth, status.parked, status.dead_letters, status.ledger) == (2, 1, 1, 1)
    assert status.partitions == PARTITIONS and status.schema_version >= 1
    assert [(w.worker, w.partitions, w.parked_claims) for w in status.workers] == [("w", 3, 0)]


async def test_a_closed_store_says_so(state_location: str) -> None:
    store = open_store(state_location)
    with pytest.raises(StateError, match="not open"):
        await store.delivered([KEY])
