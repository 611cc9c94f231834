"""Errors of the manager.  Every error a user can cause is a MyDockerError:
the CLI prints `Error: <message>` on stderr and exits with its exit_code,
never a traceback.

MyDockerError
 +-- UsageError            bad flag values, invalid -v spec ...       (exit 125)
 +-- InvalidReference      an image reference that does not parse     (exit 125)
 +-- NotFound
 |    +-- ImageNotFound
 |    +-- ContainerNotFound
 +-- Conflict              name in use, image used by a container     (exit 125)
 +-- RegistryError         HTTP/auth/digest problems talking to a registry
 +-- StoreError            corrupt or inconsistent local store
 +-- RuntimeFailed         the OCI runtime failed; carries its last error line
"""


class MyDockerError(Exception):
    exit_code = 125

    def __init__(self, message, *, hint=None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self):
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(MyDockerError):
    pass


class InvalidReference(MyDockerError):
    pass


class NotFound(MyDockerError):
    pass


class ImageNotFound(NotFound):
    pass


class ContainerNotFound(NotFound):
    pass


class Conflict(MyDockerError):
    pass


class RegistryError(MyDockerError):
    pass


class StoreError(MyDockerError):
    pass


class RuntimeFailed(MyDockerError):
    pass
