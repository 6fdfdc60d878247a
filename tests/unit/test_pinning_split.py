"""How `--pin` splits the CPUs loadlab may run on between the target and the generator."""

import pytest

from loadlab.errors import LoadlabError
from loadlab.stack.pinning import AUTO_MIN_CPUS, describe, resolve, split


def test_two_cpus_put_the_target_on_0_and_the_generator_on_1():
    assert split({1, 0}) == {"target": [0], "generator": [1]}


@pytest.mark.parametrize(
    ("cpus", "target", "generator"),
    [
        ({0, 1, 2, 3}, [0, 1], [2, 3]),
        ({0, 1, 2}, [0, 1], [2]),  # an odd count: the target's half is rounded up
        ({2, 5, 7, 9, 11, 13, 15, 17}, [2, 5, 7, 9], [11, 13, 15, 17]),  # the CPUs this process may use
    ],
)
def test_n_cpus_are_split_half_and_half(cpus, target, generator):
    assert split(cpus) == {"target": target, "generator": generator}


def test_auto_pins_from_its_minimum_on_and_off_do_what_they_say():
    assert resolve("auto", range(AUTO_MIN_CPUS)) == split(range(AUTO_MIN_CPUS))
    assert resolve("auto", range(AUTO_MIN_CPUS - 1)) == {}
    assert resolve("auto", {0}) == {}
    assert resolve("on", {0, 1}) == {"target": [0], "generator": [1]}
    assert resolve("off", range(16)) == {}


def test_on_with_one_cpu_and_an_unknown_choice_are_refused_in_one_line():
    with pytest.raises(LoadlabError, match=r"^--pin on needs 2 CPUs or more .* run on 1 \(CPU 3\): use --pin off$"):
        resolve("on", {3})
    with pytest.raises(LoadlabError, match="unknown --pin 'sometimes'; valid: auto, on, off"):
        resolve("sometimes", {0, 1})


def test_the_split_is_described_for_the_run_log():
    assert describe({}) == "not pinned"
    assert describe(split(range(4))) == "target on CPU 0,1, generator on CPU 2,3"
