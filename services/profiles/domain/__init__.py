from services.profiles.domain.validation import check_profile
from services.profiles.domain.versions import changed_fields, snapshot

__all__ = ["check_profile", "changed_fields", "snapshot"]
