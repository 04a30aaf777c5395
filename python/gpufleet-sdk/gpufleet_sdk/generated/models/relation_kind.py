from enum import StrEnum

class RelationKind(StrEnum):
    CONNECTED_TO = "connected_to"
    MANAGES = "manages"
    NVLINK = "nvlink"
    POWERED_BY = "powered_by"

    def __str__(self) -> str:
        return str(self.value)
