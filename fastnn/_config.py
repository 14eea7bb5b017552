"""Global switches (scikit-learn style): get_config / set_config / config_context."""

from contextlib import contextmanager

_config = {
    # Scan float inputs of every op for NaN/inf and raise ValueError. A native scan is
    # one pass over memory; turn it off only when the inputs are known to be clean.
    "check_finite": True,
}


def get_config():
    """Return a copy of fastnn's global settings."""
    return dict(_config)


def set_config(check_finite=None):
    """Change global settings; arguments left as None keep their value."""
    if check_finite is not None:
        _config["check_finite"] = bool(check_finite)


@contextmanager
def config_context(**settings):
    """Temporarily change settings: ``with fastnn.config_context(check_finite=False): ...``."""
    unknown = set(settings) - set(_config)
    if unknown:
        raise TypeError(f"unknown fastnn setting(s): {sorted(unknown)}; known: {sorted(_config)}")
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _config.clear()
        _config.update(old)
