from enum import StrEnum

class NodeState(StrEnum):
    BROKEN = "broken"
    DISCOVERED = "discovered"
    DRAINING = "draining"
    INSPECTING = "inspecting"
    INSPECTION_FAILED = "inspection_failed"
    IN_SERVICE = "in_service"
    MAINTENANCE = "maintenance"
    PROVISIONING = "provisioning"
    PROVISIONING_FAILED = "provisioning_failed"
    READY = "ready"
    RETIRED = "retired"

    def __str__(self) -> str:
        return str(self.value)
