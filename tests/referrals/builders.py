"""A report with every field of the CyberTipline schema excerpt (docs: shared/domain/
referrals.md), in the JSON convention of ``safeguard.demo.referrals`` (written as XML too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safeguard.demo.referrals import report_xml


def full_report(report_id: str = "7100001", md5: str = "0" * 31 + "1") -> dict[str, Any]:
    person = {
        "firstName": "Avery",
        "lastName": "Example",
        "phone": [{"@type": "Mobile", "#text": "07700 900123"}, "+44 20 7946 0555"],
        "email": ["Avery.Example@EXAMPLE.com", "second@example.org"],
        "address": [
            {
                "address": "1 Test Street",
                "city": "Testville",
                "zipCode": "SW1A 1AA",
                "country": "GB",
            }
        ],
        "age": "34",
        "dateOfBirth": "1991-04-05",
    }
    reported = {
        "personOrUserReportedPerson": person,
        "espIdentifier": "PX123456789",
        "espService": "PixShare",
        "compromisedAccount": "false",
        "screenName": "@AveryX",
        "displayName": ["Avery E.", "AE"],
        "profileUrl": ["https://pixshare.example.com/u/averyx"],
        "profileBio": "Just a test bio",
        "ipCaptureEvent": [
            {
                "ipAddress": "192.0.2.10",
                "eventName": "Login",
                "dateTime": "2026-03-01T09:15:30-05:00",
                "possibleProxy": "false",
                "port": "51234",
            },
            {
                "ipAddress": "2001:DB8:0:0:0:0:0:1",
                "eventName": "Upload",
                "dateTime": "2026-03-01T15:00:00Z",
                "possibleProxy": "true",
            },
        ],
        "deviceId": [{"idType": "IDFA", "idValue": "ABCDEF0123456789"}],
        "thirdPartyUserReported": "false",
        "priorCTReports": ["111", "222"],
        "groupIdentifier": "group-7",
        "accountTemporarilyDisabled": "true",
        "accountPermanentlyDisabled": "false",
        "estimatedLocation": {"city": "Testville", "country": "GB"},
        "associatedAccount": "PX987654321",
        "additionalInfo": "reported user info",
    }
    return {
        "reportId": report_id,
        "incidentSummary": {
            "incidentType": "Online Enticement of Children for Sexual Acts",
            "platform": "PixShare",
            "escalateToHighPriority": "true",
            "reportAnnotations": {"sextortion": "", "csamSolicitation": ""},
            "incidentDateTime": "2026-03-01T10:00:00+01:00",
            "incidentDateTimeDescription": "time of the last upload",
        },
        "internetDetails": [{"webPageIncident": {"url": "https://pixshare.example.com/p/1"}}],
        "lawEnforcement": {"agencyName": "Test Agency", "caseNumber": "LE-1"},
        "reporter": {"espName": "PixShare Inc.", "reportingPerson": {"email": "t@example.com"}},
        "personOrUserReported": reported,
        "intendedRecipient": [
            {"intendedRecipientPerson": {"firstName": "Rec"}, "screenName": "recipient1"}
        ],
        "victim": [{"victimPerson": {"firstName": "Vic", "age": "13"}}],
        "additionalInfo": "report info",
        "fileDetails": [
            {
                "reportId": report_id,
                "fileId": "F1",
                "fileName": "upload-1.jpg",
                "originalFileName": "IMG_0001.jpg",
                "uploadedToEspTimestamp": "2026-03-01T09:00:00-08:00",
                "locationOfFile": "Uploaded to account",
                "fileViewedByEsp": "false",
                "exifViewedByEsp": "true",
                "publiclyAvailable": "false",
                "fileRelevance": "Reported",
                "fileAnnotations": {"possibleSelfProduction": "", "generativeAi": ""},
                "industryClassification": "A1",
                "originalFileHash": [
                    {"@hashType": "MD5", "#text": md5.upper()},
                    {"@hashType": "SHA1", "#text": "a" * 40},
                ],
                "ipCaptureEvent": {
                    "ipAddress": "198.51.100.7",
                    "eventName": "Upload",
                    "dateTime": "2026-03-01T08:59:00-08:00",
                    "port": "4444",
                },
                "deviceId": [{"idType": "IMEI", "idValue": "490154203237518"}],
                "details": [{"name": "Make", "value": "TestCam", "type": "EXIF"}],
            }
        ],
    }


def write_report(folder: Path, report: dict[str, Any], fmt: str = "xml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report['reportId']}.{fmt}"
    if fmt == "xml":
        path.write_bytes(report_xml(report))
    else:
        path.write_text(json.dumps({"report": report}), encoding="utf-8")
    return path
