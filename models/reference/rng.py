"""The contract's random numbers: SplitMix64, ``uniform()`` and Box–Muller normals.

Definition (models/README.md, "Sampling (RAS), exactly"), all arithmetic mod 2^64::

    state += 0x9E3779B97F4A7C15; z = state
    z = (z ^ z >>> 30) * 0xBF58476D1CE4E5B9
    z = (z ^ z >>> 27) * 0x94D049BB133111EB
    return z ^ z >>> 31

    uniform() = (next() >>> 11) * 2^-53                      # float64 in [0, 1)
    normal pair: u1 = 1 - uniform(); u2 = uniform(); r = sqrt(-2 ln u1)
                 -> float32(r cos(2 pi u2)), float32(r sin(2 pi u2))

The scalar methods follow the definition literally with Python integers; the bulk methods
compute the same values with numpy uint64 arithmetic (state ``i`` steps ahead is simply
``state + i * gamma``, so a block of outputs needs no loop). Both advance the same state, so scalar
and bulk calls may be interleaved freely.
"""
from __future__ import annotations

import numpy as np

GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
VOCODER_SEED_XOR = 0xD1B54A32D192ED03
_TWO_POW_M53 = 2.0 ** -53

_U64_GAMMA = np.uint64(GAMMA)
_U64_MIX1 = np.uint64(MIX1)
_U64_MIX2 = np.uint64(MIX2)


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def _mix_array(z: np.ndarray) -> np.ndarray:
    # numpy uint64 array arithmetic wraps modulo 2^64 (no overflow error for arrays)
    z = (z ^ (z >> np.uint64(30))) * _U64_MIX1
    z = (z ^ (z >> np.uint64(27))) * _U64_MIX2
    return z ^ (z >> np.uint64(31))


class SplitMix64:
    """SplitMix64 generator with the contract's ``uniform()`` and Box–Muller normals."""

    __slots__ = ("state",)

    def __init__(self, seed: int):
        self.state = int(seed) & MASK64

    # -- scalar, literal -------------------------------------------------------------------
    def next_u64(self) -> int:
        self.state = (self.state + GAMMA) & MASK64
        return _mix(self.state)

    def uniform(self) -> float:
        return (self.next_u64() >> 11) * _TWO_POW_M53

    # -- bulk, vectorised -----------------------------------------------------------------
    def next_u64_array(self, n: int) -> np.ndarray:
        """The next ``n`` outputs as a uint64 array (same values as ``n`` calls of ``next_u64``)."""
        n = int(n)
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return np.zeros(0, dtype=np.uint64)
        steps = np.arange(1, n + 1, dtype=np.uint64)
        states = np.uint64(self.state) + steps * _U64_GAMMA
        self.state = (self.state + n * GAMMA) & MASK64
        return _mix_array(states)

    def uniform_array(self, n: int) -> np.ndarray:
        """The next ``n`` uniforms as float64 (bit-identical to ``n`` calls of ``uniform``)."""
        return (self.next_u64_array(n) >> np.uint64(11)).astype(np.float64) * _TWO_POW_M53

    def normal_pairs(self, n_pairs: int) -> np.ndarray:
        """``n_pairs`` Box–Muller pairs as float32 ``[2 * n_pairs]``: cos value, sin value, cos, sin, …

        Each pair consumes two uniforms: ``u1 = 1 - uniform()`` then ``u2 = uniform()``.
        """
        u = self.uniform_array(2 * int(n_pairs)).reshape(-1, 2)
        u1 = 1.0 - u[:, 0]
        u2 = u[:, 1]
        r = np.sqrt(-2.0 * np.log(u1))
        theta = 2.0 * np.pi * u2
        out = np.empty((u.shape[0], 2), dtype=np.float32)
        out[:, 0] = r * np.cos(theta)
        out[:, 1] = r * np.sin(theta)
        return out.reshape(-1)

    def normals(self, n: int) -> np.ndarray:
        """``n`` standard normals (float32) drawn as ``ceil(n / 2)`` pairs.

        For odd ``n`` the sine half of the last pair is discarded (its uniforms are consumed).
        The runtime only ever asks for an even count (``480 * F * 9``).
        """
        n = int(n)
        return self.normal_pairs((n + 1) // 2)[:n]


def vocoder_seed(seed: int) -> int:
    """Seed of a request's vocoder stream (HiFT ``phase_init`` and ``noise``)."""
    return (int(seed) & MASK64) ^ VOCODER_SEED_XOR


def scalar_normal_pair(rng: SplitMix64) -> tuple[float, float]:
    """One Box–Muller pair with scalar calls (for tests and for documentation)."""
    import math

    u1 = 1.0 - rng.uniform()
    u2 = rng.uniform()
    r = math.sqrt(-2.0 * math.log(u1))
    return (float(np.float32(r * math.cos(2.0 * math.pi * u2))),
            float(np.float32(r * math.sin(2.0 * math.pi * u2))))
