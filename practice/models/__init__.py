"""Every model, imported here so that Alembic and the app see the whole schema."""

from practice.models.audit import AuditEvent
from practice.models.checkin import Checkin, ReminderSent, SafetyAnswer, SafetyFlag
from practice.models.couple import (
    Couple,
    CoupleTherapist,
    Partner,
    PartnerInvite,
    PartnerSignInLink,
    PortalSession,
    PrivacyAcknowledgement,
)
from practice.models.export import CoupleExport
from practice.models.homework import (
    Agreement,
    AgreementAcceptance,
    Assignment,
    CalendarFeed,
    ContractSignature,
    ContractVersion,
    HomeworkComment,
    HomeworkResponse,
    InstructionTemplate,
    JointConfirmation,
    ResponseTransition,
)
from practice.models.job import JobRun
from practice.models.measure import MeasureResponse, MeasureSchedule, MeasureSetting
from practice.models.notice import Notice
from practice.models.practice import Practice
from practice.models.report import Appointment, Report, ReportBatch
from practice.models.ritual import RitualTick
from practice.models.token import PasswordReset, TherapistInvitation
from practice.models.trigger import TriggerEntry
from practice.models.user import RecoveryCode, TrustedDevice, User, UserSession

__all__ = [
    "Appointment",
    "Report",
    "ReportBatch",
    "Agreement",
    "AgreementAcceptance",
    "Assignment",
    "CalendarFeed",
    "Checkin",
    "ContractSignature",
    "ContractVersion",
    "InstructionTemplate",
    "JointConfirmation",
    "HomeworkComment",
    "HomeworkResponse",
    "ResponseTransition",
    "AuditEvent",
    "Couple",
    "CoupleExport",
    "CoupleTherapist",
    "JobRun",
    "MeasureResponse",
    "MeasureSchedule",
    "MeasureSetting",
    "Notice",
    "Partner",
    "PartnerInvite",
    "PartnerSignInLink",
    "PasswordReset",
    "PortalSession",
    "Practice",
    "PrivacyAcknowledgement",
    "RecoveryCode",
    "RitualTick",
    "ReminderSent",
    "SafetyAnswer",
    "SafetyFlag",
    "TherapistInvitation",
    "TriggerEntry",
    "TrustedDevice",
    "User",
    "UserSession",
]
