from services.profiles.domain.validation import check_profile
from services.profiles.domain.versions import changed_fields, snapshot

__all__ = ["changed_fields", "check_profile", "snapshot"]
