from services.profiles.domain.enrolment import enrolment_change, enrolment_changes, enrolment_of
from services.profiles.domain.validation import check_profile
from services.profiles.domain.versions import changed_fields, snapshot

__all__ = ["changed_fields", "check_profile", "enrolment_change", "enrolment_changes", "enrolment_of", "snapshot"]
