from enum import StrEnum

class RelationKind(StrEnum):
    CONNECTED_TO = "connected_to"
    COOLED_BY = "cooled_by"
    MANAGES = "manages"
    NVLINK = "nvlink"
    POWERED_BY = "powered_by"

    def __str__(self) -> str:
        return str(self.value)
