from kalshiflow.textfmt import plural


def test_plural_counts_one_as_singular_and_everything_else_as_plural() -> None:
    assert plural(1, "order") == "1 order"
    assert plural(0, "order") == "0 orders"
    assert plural(2, "position") == "2 positions"
    assert plural(-1, "contract") == "-1 contracts"
    assert plural(3, "entry", "entries") == "3 entries"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(1204, "order") == "1,204 orders"
