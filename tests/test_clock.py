from datetime import timedelta

from core.clock import utcnow


def test_the_clock_fixture_moves_both_planes_and_is_reset(clock):  # type: ignore[no-untyped-def]
    before = utcnow()
    clock.advance(days=40)
    assert utcnow() - before >= timedelta(days=40)
    assert utcnow() - before >= timedelta(days=40)


def test_after_the_test_the_clock_is_back_on_the_wall():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)
