from enum import StrEnum

class AssetKind(StrEnum):
    BMC = "bmc"
    CDU = "cdu"
    DISK = "disk"
    GPU = "gpu"
    NIC = "nic"
    NODE = "node"
    OUTLET = "outlet"
    PDU = "pdu"
    RACK = "rack"
    SWITCH = "switch"

    def __str__(self) -> str:
        return str(self.value)
