"""The one error hierarchy of arcbridge.

Every failure a client can see is an :class:`ArcGISError`; each subclass carries the ArcGIS error ``code`` and the
HTTP ``status`` it is answered with, as class attributes (never set on an instance).  The web layer renders them in
exactly one place (``proxy.app.arcgis_middleware``, through ``proxy.respond.error_response``)::

    ArcGISError                      500  unexpected failure (never carries internal detail)
    ├── InvalidParameter             400  a request parameter is malformed or unsupported (names the parameter)
    │   └── UnsupportedParameter     400  a well-formed parameter the backend cannot honour
    ├── UnsupportedOperation         400  a SOAP operation of ArcGIS Server that arcbridge does not implement
    ├── Forbidden                    403  a protected resource without the right token
    ├── NotFound                     404  unknown service, layer, folder or output file
    ├── MethodNotAllowed             405  an HTTP method the resource does not answer
    ├── UriTooLong                   414  a request URL longer than the gateway reads
    ├── HeadersTooLarge              431  a request header longer than the gateway reads
    ├── BackendError                 502  the OGC backend failed, answered an exception or a body of the wrong kind
    │   └── BackendRefusal           502  the backend answered an OGC exception report: it refused this request
    └── BackendTimeout               504  the OGC backend did not answer in time
"""

from __future__ import annotations


class ArcGISError(Exception):
    """Base of every error answered to a client as ArcGIS error JSON."""

    code: int = 500
    status: int = 500
    default_message: str = "Unable to complete operation."

    def __init_subclass__(cls, status: int | None = None, message: str | None = None) -> None:
        # Each kind of error declares its status (also its ArcGIS code) and default message in its class line.
        super().__init_subclass__()
        if status is not None:
            cls.code = cls.status = status
        if message is not None:
            cls.default_message = message

    def __init__(self, message: str | None = None, details: list[str] | None = None) -> None:
        self.message = message or self.default_message
        self.details = list(details or [])
        super().__init__(self.message)

    def to_json(self) -> dict[str, object]:
        """Return the ArcGIS error document ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidParameter(ArcGISError, status=400, message="Invalid or missing input parameters."):
    """A request parameter is missing, malformed or out of range."""

    def __init__(self, parameter: str, problem: str, details: list[str] | None = None) -> None:
        self.parameter = parameter
        super().__init__(f"Invalid value for parameter '{parameter}': {problem}", details)


class UnsupportedParameter(InvalidParameter):
    """A well-formed parameter that this gateway or its backend cannot honour; refused rather than ignored."""

    def __init__(
        self, parameter: str, problem: str = "not supported by this service", details: list[str] | None = None
    ) -> None:
        super().__init__(parameter, problem, details)


class UnsupportedOperation(ArcGISError, status=400, message="The operation is not supported."):
    """A SOAP operation of the ArcGIS Server WSDL that this gateway does not implement (answered as a fault)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"The operation '{operation}' is not supported by this service.")


class NotFound(ArcGISError, status=404, message="Requested resource not found."):
    """An unknown service, folder, layer or output resource."""


class Forbidden(ArcGISError, status=403, message="Invalid token."):
    """A protected resource (the admin endpoint) asked for without the right token."""


class MethodNotAllowed(ArcGISError, status=405, message="Method Not Allowed"):
    """An HTTP method that the resource does not answer (e.g. POST to the statistics endpoint)."""


class UriTooLong(ArcGISError, status=414, message="Request-URI Too Long"):
    """A request URL beyond the gateway's limit (long requests belong in a POST body, as ArcGIS clients send them)."""


class HeadersTooLarge(ArcGISError, status=431, message="Request Header Fields Too Large"):
    """A request header beyond the gateway's limit."""


class NoTiles(ArcGISError, status=422, message="Tiles not present."):
    """A tilemap window without a single tile: ArcGIS Server answers 422, which its JavaScript SDK reads as "every
    tile of the window unavailable" (PROTOCOLS.md §4)."""


class BackendError(ArcGISError, status=502, message="The backend server returned an error."):
    """The OGC backend failed or answered something that is not what was asked for."""


class BackendRefusal(BackendError):
    """The backend understood the request and refused it with an OGC exception report (not a transport failure).

    Callers that can ask differently (a GetCoverage without a band subset) or that can tell the caller's mistake in
    the report (an unknown field of a filter) catch this one kind; everyone else sees a plain 502.
    """


class BackendTimeout(ArcGISError, status=504, message="The backend server did not respond in time."):
    """The OGC backend did not answer within the configured timeout."""
