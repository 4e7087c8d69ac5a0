"""Wrong values through the API and lookalike text in a model: each is an irgraph.Error naming the value."""

import pytest

import irgraph
import viz

MODEL = "a1 = w1 * x1\nloss = (a1 - y)^2\n"


@pytest.mark.parametrize("kwargs, named", [
    ({"wrt": ["w1", 3]}, "3"),
    ({"wrt": 3}, "3"),
    ({"output": 3}, "3"),
    ({"output": "x1"}, "'x1'"),  # an input is not an equation
    ({"wrt": ["a1"]}, "'a1'"),  # an equation is not an input
])
def test_wrong_wrt_and_output_are_errors_naming_the_value(kwargs, named):
    with pytest.raises(irgraph.Error) as e:
        irgraph.compile(MODEL, **kwargs)
    assert named in str(e.value)


def test_render_wrt_takes_inputs_only(tmp_path):
    with pytest.raises(irgraph.Error, match="'a1'"):
        viz.render(irgraph.parse(MODEL), tmp_path / "g.dot", wrt=["a1"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("digit", ["\u09ea", "\u0663", "\uff13", "\U0001d7d7"])
def test_only_ascii_digits_are_numbers(digit):
    for text in (f"loss = x * {digit}", f"loss = x * 1{digit}"):
        with pytest.raises(irgraph.ParseError) as e:
            irgraph.parse(text)
        assert e.value.line == 1 and e.value.col == text.index(digit) + 1, text
        assert "ASCII digit" in e.value.message


@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\u2028", "\u2029", "\x85", "\x1c"])
def test_only_newlines_end_a_line(separator):
    # An editor shows these on one line: the error must point at line 2, where the editor shows it.
    with pytest.raises(irgraph.ParseError) as e:
        irgraph.parse(f"a = x{separator}2\nloss = (a")
    assert e.value.line == 1 and "operator" in e.value.message
    with pytest.raises(irgraph.ParseError) as e:
        irgraph.parse(f"a = x * 2{separator}\nloss = (a")
    assert e.value.line == 2


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_newline_styles_number_lines_alike(newline):
    with pytest.raises(irgraph.ParseError) as e:
        irgraph.parse(newline.join(["a = x", "", "loss = (a"]) + newline)
    assert e.value.line == 3
