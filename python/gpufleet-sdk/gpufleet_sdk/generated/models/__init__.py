""" Contains all the data models used in inputs/outputs """

from .affected import Affected
from .alert_ingest_report import AlertIngestReport
from .alert_list import AlertList
from .alert_rule_detail import AlertRuleDetail
from .alert_rule_import import AlertRuleImport
from .alert_rule_version_view import AlertRuleVersionView
from .alert_rule_view import AlertRuleView
from .alert_rule_view_annotations import AlertRuleViewAnnotations
from .alert_rule_view_labels import AlertRuleViewLabels
from .alert_view import AlertView
from .alert_view_annotations import AlertViewAnnotations
from .alert_view_labels import AlertViewLabels
from .announcement import Announcement
from .asset_health_change_view import AssetHealthChangeView
from .asset_kind import AssetKind
from .asset_page import AssetPage
from .asset_status import AssetStatus
from .asset_view import AssetView
from .asset_view_spec import AssetViewSpec
from .assign_profile import AssignProfile
from .audit_page import AuditPage
from .audit_row import AuditRow
from .bios_diff_view import BiosDiffView
from .bios_diff_view_pending import BiosDiffViewPending
from .bios_difference import BiosDifference
from .bmc_entry import BmcEntry
from .bmc_sensor_view import BmcSensorView
from .bulk_provision import BulkProvision
from .bulk_provision_labels import BulkProvisionLabels
from .bulk_provision_response import BulkProvisionResponse
from .bulk_refused import BulkRefused
from .bulk_request import BulkRequest
from .bulk_request_labels import BulkRequestLabels
from .bulk_request_params import BulkRequestParams
from .bulk_response import BulkResponse
from .cancel_request import CancelRequest
from .cdu_status_view import CduStatusView
from .change import Change
from .change_op import ChangeOp
from .change_page import ChangePage
from .change_view import ChangeView
from .change_view_after_type_0 import ChangeViewAfterType0
from .change_view_before_type_0 import ChangeViewBeforeType0
from .check import Check
from .check_actual import CheckActual
from .check_expected import CheckExpected
from .config_version_view import ConfigVersionView
from .create_asset import CreateAsset
from .create_asset_config import CreateAssetConfig
from .create_asset_labels import CreateAssetLabels
from .create_profile import CreateProfile
from .create_relation import CreateRelation
from .create_relation_attrs import CreateRelationAttrs
from .create_token import CreateToken
from .create_user import CreateUser
from .created_token import CreatedToken
from .dead_letter_page import DeadLetterPage
from .dead_letter_view import DeadLetterView
from .dead_letter_view_event import DeadLetterViewEvent
from .diagnose_request import DiagnoseRequest
from .diagnosis_view import DiagnosisView
from .diff_view import DiffView
from .discovery_request import DiscoveryRequest
from .discovery_response import DiscoveryResponse
from .discovery_result import DiscoveryResult
from .event_page import EventPage
from .event_page_items_item import EventPageItemsItem
from .event_type_view import EventTypeView
from .evidence import Evidence
from .execute_body import ExecuteBody
from .execute_response_200 import ExecuteResponse200
from .gpu_health import GpuHealth
from .gpu_health_change import GpuHealthChange
from .gpu_series_view import GpuSeriesView
from .gpu_status_view import GpuStatusView
from .gpu_status_view_fields import GpuStatusViewFields
from .guard_rails_view import GuardRailsView
from .history_entry import HistoryEntry
from .history_list import HistoryList
from .history_status_view import HistoryStatusView
from .import_summary import ImportSummary
from .import_summary_created import ImportSummaryCreated
from .incident import Incident
from .incident_note import IncidentNote
from .incident_state_view import IncidentStateView
from .inspection_failure import InspectionFailure
from .install_plan_row import InstallPlanRow
from .job_detail import JobDetail
from .job_log_entry import JobLogEntry
from .job_view import JobView
from .kill_switch_request import KillSwitchRequest
from .lifecycle_table import LifecycleTable
from .login_request import LoginRequest
from .login_response import LoginResponse
from .merge_request import MergeRequest
from .metadata import Metadata
from .metadata_labels import MetadataLabels
from .new_plan_version import NewPlanVersion
from .node_detail import NodeDetail
from .node_detail_components import NodeDetailComponents
from .node_gpu_health import NodeGpuHealth
from .node_health import NodeHealth
from .node_list_item import NodeListItem
from .node_page import NodePage
from .node_state import NodeState
from .nvidia_stack import NvidiaStack
from .nvidia_stack_fabric_manager import NvidiaStackFabricManager
from .op_request import OpRequest
from .os_image import OsImage
from .partition import Partition
from .patch_asset import PatchAsset
from .patch_asset_labels_type_0 import PatchAssetLabelsType0
from .patch_user import PatchUser
from .pdu_status_view import PduStatusView
from .plan_spec import PlanSpec
from .plan_spec_images import PlanSpecImages
from .plan_spec_timeouts import PlanSpecTimeouts
from .port_admin_request import PortAdminRequest
from .port_health_view import PortHealthView
from .port_view import PortView
from .postable_alert import PostableAlert
from .postable_alert_annotations import PostableAlertAnnotations
from .postable_alert_labels import PostableAlertLabels
from .problem import Problem
from .profile_list import ProfileList
from .profile_spec import ProfileSpec
from .profile_spec_bios import ProfileSpecBios
from .profile_spec_firmware import ProfileSpecFirmware
from .profile_view import ProfileView
from .provision_request import ProvisionRequest
from .provision_view import ProvisionView
from .provision_view_workflow_progress import ProvisionViewWorkflowProgress
from .provisioning import Provisioning
from .put_alert_rule import PutAlertRule
from .put_alert_rule_annotations import PutAlertRuleAnnotations
from .put_alert_rule_labels import PutAlertRuleLabels
from .put_config import PutConfig
from .put_config_config import PutConfigConfig
from .raid_volume import RaidVolume
from .redrive_result import RedriveResult
from .rejected_alert import RejectedAlert
from .relation_kind import RelationKind
from .relation_list import RelationList
from .relation_view import RelationView
from .remediate_request import RemediateRequest
from .remediation_action import RemediationAction
from .remediation_plan import RemediationPlan
from .remediation_status_view import RemediationStatusView
from .remediation_step import RemediationStep
from .role import Role
from .root_cause import RootCause
from .rule_alert_view import RuleAlertView
from .scrape_target_view import ScrapeTargetView
from .series_point_view import SeriesPointView
from .series_response import SeriesResponse
from .split_request import SplitRequest
from .state_info import StateInfo
from .sweep import Sweep
from .switch_health import SwitchHealth
from .switch_stream_view import SwitchStreamView
from .telemetry_status_view import TelemetryStatusView
from .telemetry_status_view_health import TelemetryStatusViewHealth
from .telemetry_status_view_ports import TelemetryStatusViewPorts
from .telemetry_status_view_unmapped_names import TelemetryStatusViewUnmappedNames
from .timeline_entry_view import TimelineEntryView
from .token import Token
from .token_kind import TokenKind
from .token_list import TokenList
from .transition_info import TransitionInfo
from .transition_request import TransitionRequest
from .transition_result import TransitionResult
from .unknown_sender_view import UnknownSenderView
from .update_profile import UpdateProfile
from .user import User
from .user_list import UserList
from .validation import Validation
from .validation_report import ValidationReport
from .verify_report import VerifyReport
from .version_list import VersionList
from .webhook_alert import WebhookAlert
from .webhook_alert_annotations import WebhookAlertAnnotations
from .webhook_alert_labels import WebhookAlertLabels
from .webhook_payload import WebhookPayload
from .webhook_payload_common_annotations import WebhookPayloadCommonAnnotations
from .webhook_payload_common_labels import WebhookPayloadCommonLabels
from .webhook_payload_group_labels import WebhookPayloadGroupLabels
from .who_am_i import WhoAmI

__all__ = (
    "Affected",
    "AlertIngestReport",
    "AlertList",
    "AlertRuleDetail",
    "AlertRuleImport",
    "AlertRuleVersionView",
    "AlertRuleView",
    "AlertRuleViewAnnotations",
    "AlertRuleViewLabels",
    "AlertView",
    "AlertViewAnnotations",
    "AlertViewLabels",
    "Announcement",
    "AssetHealthChangeView",
    "AssetKind",
    "AssetPage",
    "AssetStatus",
    "AssetView",
    "AssetViewSpec",
    "AssignProfile",
    "AuditPage",
    "AuditRow",
    "BiosDifference",
    "BiosDiffView",
    "BiosDiffViewPending",
    "BmcEntry",
    "BmcSensorView",
    "BulkProvision",
    "BulkProvisionLabels",
    "BulkProvisionResponse",
    "BulkRefused",
    "BulkRequest",
    "BulkRequestLabels",
    "BulkRequestParams",
    "BulkResponse",
    "CancelRequest",
    "CduStatusView",
    "Change",
    "ChangeOp",
    "ChangePage",
    "ChangeView",
    "ChangeViewAfterType0",
    "ChangeViewBeforeType0",
    "Check",
    "CheckActual",
    "CheckExpected",
    "ConfigVersionView",
    "CreateAsset",
    "CreateAssetConfig",
    "CreateAssetLabels",
    "CreatedToken",
    "CreateProfile",
    "CreateRelation",
    "CreateRelationAttrs",
    "CreateToken",
    "CreateUser",
    "DeadLetterPage",
    "DeadLetterView",
    "DeadLetterViewEvent",
    "DiagnoseRequest",
    "DiagnosisView",
    "DiffView",
    "DiscoveryRequest",
    "DiscoveryResponse",
    "DiscoveryResult",
    "EventPage",
    "EventPageItemsItem",
    "EventTypeView",
    "Evidence",
    "ExecuteBody",
    "ExecuteResponse200",
    "GpuHealth",
    "GpuHealthChange",
    "GpuSeriesView",
    "GpuStatusView",
    "GpuStatusViewFields",
    "GuardRailsView",
    "HistoryEntry",
    "HistoryList",
    "HistoryStatusView",
    "ImportSummary",
    "ImportSummaryCreated",
    "Incident",
    "IncidentNote",
    "IncidentStateView",
    "InspectionFailure",
    "InstallPlanRow",
    "JobDetail",
    "JobLogEntry",
    "JobView",
    "KillSwitchRequest",
    "LifecycleTable",
    "LoginRequest",
    "LoginResponse",
    "MergeRequest",
    "Metadata",
    "MetadataLabels",
    "NewPlanVersion",
    "NodeDetail",
    "NodeDetailComponents",
    "NodeGpuHealth",
    "NodeHealth",
    "NodeListItem",
    "NodePage",
    "NodeState",
    "NvidiaStack",
    "NvidiaStackFabricManager",
    "OpRequest",
    "OsImage",
    "Partition",
    "PatchAsset",
    "PatchAssetLabelsType0",
    "PatchUser",
    "PduStatusView",
    "PlanSpec",
    "PlanSpecImages",
    "PlanSpecTimeouts",
    "PortAdminRequest",
    "PortHealthView",
    "PortView",
    "PostableAlert",
    "PostableAlertAnnotations",
    "PostableAlertLabels",
    "Problem",
    "ProfileList",
    "ProfileSpec",
    "ProfileSpecBios",
    "ProfileSpecFirmware",
    "ProfileView",
    "Provisioning",
    "ProvisionRequest",
    "ProvisionView",
    "ProvisionViewWorkflowProgress",
    "PutAlertRule",
    "PutAlertRuleAnnotations",
    "PutAlertRuleLabels",
    "PutConfig",
    "PutConfigConfig",
    "RaidVolume",
    "RedriveResult",
    "RejectedAlert",
    "RelationKind",
    "RelationList",
    "RelationView",
    "RemediateRequest",
    "RemediationAction",
    "RemediationPlan",
    "RemediationStatusView",
    "RemediationStep",
    "Role",
    "RootCause",
    "RuleAlertView",
    "ScrapeTargetView",
    "SeriesPointView",
    "SeriesResponse",
    "SplitRequest",
    "StateInfo",
    "Sweep",
    "SwitchHealth",
    "SwitchStreamView",
    "TelemetryStatusView",
    "TelemetryStatusViewHealth",
    "TelemetryStatusViewPorts",
    "TelemetryStatusViewUnmappedNames",
    "TimelineEntryView",
    "Token",
    "TokenKind",
    "TokenList",
    "TransitionInfo",
    "TransitionRequest",
    "TransitionResult",
    "UnknownSenderView",
    "UpdateProfile",
    "User",
    "UserList",
    "Validation",
    "ValidationReport",
    "VerifyReport",
    "VersionList",
    "WebhookAlert",
    "WebhookAlertAnnotations",
    "WebhookAlertLabels",
    "WebhookPayload",
    "WebhookPayloadCommonAnnotations",
    "WebhookPayloadCommonLabels",
    "WebhookPayloadGroupLabels",
    "WhoAmI",
)
