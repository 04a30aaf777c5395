"""The service's $metadata (OData CSDL) document: references to the DMTF schemas it uses."""

from __future__ import annotations

NAMESPACES = {
    "ServiceRoot": "ServiceRoot.v1_16_0",
    "ComputerSystemCollection": None,
    "ComputerSystem": "ComputerSystem.v1_20_0",
    "ProcessorCollection": None,
    "Processor": "Processor.v1_18_0",
    "MemoryCollection": None,
    "Memory": "Memory.v1_17_0",
    "EthernetInterfaceCollection": None,
    "EthernetInterface": "EthernetInterface.v1_9_0",
    "StorageCollection": None,
    "Storage": "Storage.v1_15_0",
    "Drive": "Drive.v1_17_0",
    "VolumeCollection": None,
    "Volume": "Volume.v1_9_0",
    "Bios": "Bios.v1_2_0",
    "Settings": "Settings.v1_3_5",
    "LogServiceCollection": None,
    "LogService": "LogService.v1_4_0",
    "LogEntryCollection": None,
    "LogEntry": "LogEntry.v1_15_0",
    "ChassisCollection": None,
    "Chassis": "Chassis.v1_23_0",
    "Thermal": "Thermal.v1_7_1",
    "Power": "Power.v1_7_1",
    "SensorCollection": None,
    "Sensor": "Sensor.v1_9_0",
    "ManagerCollection": None,
    "Manager": "Manager.v1_19_0",
    "VirtualMediaCollection": None,
    "VirtualMedia": "VirtualMedia.v1_6_0",
    "SessionService": "SessionService.v1_1_9",
    "SessionCollection": None,
    "Session": "Session.v1_7_0",
    "AccountService": "AccountService.v1_13_0",
    "ManagerAccountCollection": None,
    "ManagerAccount": "ManagerAccount.v1_10_0",
    "UpdateService": "UpdateService.v1_11_0",
    "SoftwareInventoryCollection": None,
    "SoftwareInventory": "SoftwareInventory.v1_10_0",
    "TaskService": "TaskService.v1_2_1",
    "TaskCollection": None,
    "Task": "Task.v1_7_3",
    "EventService": "EventService.v1_10_0",
    "EventDestinationCollection": None,
    "EventDestination": "EventDestination.v1_13_0",
    "Event": "Event.v1_7_0",
    "Message": "Message.v1_1_1",
    "Resource": "Resource.v1_16_0",
}


def metadata_xml() -> str:
    refs = []
    for name, versioned in NAMESPACES.items():
        incs = f'    <edmx:Include Namespace="{name}"/>\n'
        if versioned:
            incs += f'    <edmx:Include Namespace="{versioned}"/>\n'
        refs.append(
            f'  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/{name}_v1.xml">\n{incs}  </edmx:Reference>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
        + "".join(refs)
        + "  <edmx:DataServices>\n"
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">\n'
        '      <EntityContainer Name="Service" Extends="ServiceRoot.v1_16_0.ServiceContainer"/>\n'
        "    </Schema>\n"
        "  </edmx:DataServices>\n"
        "</edmx:Edmx>\n"
    )
