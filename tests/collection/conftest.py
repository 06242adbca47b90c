"""Options of the collection tests (`make test-collection`)."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--consumer-inventory", default=None,
        help="inventory of a lab for the consumer project to converge (a directory, e.g. "
             "the one `streamstack lab up --ssh --hosts 1 --prefix cs-` writes under .cache/); "
             "default $STREAMSTACK_CONSUMER_INVENTORY; without one the test is skipped")
