"""Every exception the gateway raises on purpose."""


class GatewayError(Exception):
    """Base class for the gateway's own errors."""


class ConfigurationError(GatewayError):
    """Settings that must not be used (e.g. production without a real SECRET_KEY)."""


class CodeError(GatewayError):
    """A PAKN code that cannot be used."""


class CodeFormatError(CodeError):
    """The text is not shaped like a PAKN code at all."""


class CodeCheckDigitError(CodeError):
    """Shaped like a code, but the check digit is wrong: a typing mistake."""


class DuplicateSubmissionError(GatewayError):
    """The same (channel, external id) was already accepted; carries the case id."""

    def __init__(self, case_id: int) -> None:
        super().__init__(f"already accepted as case {case_id}")
        self.case_id = case_id


class InvalidTransitionError(GatewayError):
    """A status change the state machine does not allow."""


class CallLogError(GatewayError):
    """A call-log file that cannot be read safely; nothing of it is imported."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class DeliveryError(GatewayError):
    """A retryable delivery failure (raised inside jobs so that RQ retries them)."""


class PeriodError(GatewayError):
    """A reporting period that cannot be read (e.g. not ``2026-Q3``)."""


class PublicationError(GatewayError):
    """A publication step refused; the message is Vietnamese, for the coordinator."""


class SigningError(GatewayError):
    """An answer could not be signed (token absent, wrong PIN, unreadable PKCS#12, TSA down)."""


class StaleModelError(GatewayError):
    """The classifier's artefact was trained on other data than the training file holds now."""


class PageCursorError(GatewayError):
    """A desk's ``?after=``/``?before=`` cursor that names no place in the list."""


class ReadOnlySessionError(GatewayError):
    """Something tried to write through a request's read session (a programming error)."""
