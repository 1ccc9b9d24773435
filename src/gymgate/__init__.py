"""gymgate: gym passes as Ed25519-signed QR codes, admitted at most once."""

__version__ = "0.1.0"

__all__ = ["__version__"]
