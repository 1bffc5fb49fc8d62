#!/usr/bin/env python3
"""Writes examples/adilsoz-2024-07.json: the incidents behind the figures of Adil Soz's July 2024
monitoring report (../shared/domain/adilsoz-monitoring-2024-07.txt), so that `casebook report`
reproduces them. Real incidents named in the report are marked "real"; the others are
placeholders standing for incidents the report counts without naming them.

Run: python3 scripts/make-adilsoz-example.py  (deterministic: ids are UUID v5)
"""
import json
import uuid
from pathlib import Path

NS = uuid.UUID("5b0c7e2a-3c1f-4a55-9e0e-adc0112024f7")
SOURCE = str(uuid.uuid5(NS, "source"))
records = [{
    "id": SOURCE,
    "kind": "source",
    "title": "Violations of freedom of speech in Kazakhstan, July 2024",
    "source_kind": "ngo_report",
    "publisher": "International Foundation for Protection of Freedom of Speech «Adil Soz»",
    "date": "2024-08",
    "language": "en",
    "reliability": "reliable",
    "notes": "Monthly monitoring overview. Figures for July 2024, and for January–July 2024 against January–July 2023.",
}]
count = 0


def event(title, date, categories, event_type, *, description=None, region=None, city=None, country="KZ",
          victims=(), perpetrators=(), media=(), notable=False, real=False):
    global count
    count += 1
    record = {
        "id": str(uuid.uuid5(NS, f"event/{count}")),
        "kind": "event",
        "title": title,
        "event_type": event_type,
        "date": date,
        "categories": list(categories),
        "description": description or (
            "Real incident named in the report." if real else
            "Placeholder standing for an incident the report counts without naming it."),
        "sources": [SOURCE],
        "programmes": ["media_freedom"],
    }
    if region or city or country:
        record["place"] = {k: v for k, v in {"country": country, "region": region, "city": city}.items() if v}
    for key, values in (("victim_types", victims), ("perpetrator_types", perpetrators), ("media", media)):
        if values:
            record[key] = list(values)
    if notable:
        record["notable"] = True
    records.append(record)


def placeholders(n, label, date_of, categories, event_type, **facets):
    for i in range(n):
        event(f"Placeholder: {label} #{i + 1} ({date_of(i)})", date_of(i), categories, event_type, **facets)


july = lambda i: "2024-07"  # noqa: E731 - the report gives only the month
# The report gives only year-to-date totals for earlier months: those incidents are dated to the
# span the total covers, never invented months (a report on one of those months says its figures
# come only from a period total).
jan_jun_2024 = lambda i: "2024-01/2024-06"  # noqa: E731
jan_jul_2023 = lambda i: "2023-01/2023-07"  # noqa: E731

# July 2024: 11 reports of violations of the rights of journalists, media outlets and newsmakers.
placeholders(3, "interference with a journalist's lawful work", july, ["interference_with_journalists"], "interference", victims=["journalist"])
placeholders(1, "threat against a media outlet or journalist", july, ["threat_to_media"], "threat", victims=["journalist"])
placeholders(6, "misuse of the image of a media outlet or journalist", july, ["misuse_of_image"], "misuse_of_image", victims=["media_outlet"])
placeholders(1, "copyright violation (no legal action)", july, ["copyright_violation"], "copyright_violation", victims=["media_outlet"])

# July 2024: 26 reports on the right to receive and disseminate information.
placeholders(19, "refusal or restriction of socially significant information", july, ["refusal_of_information"], "refusal_of_information",
             victims=["journalist"], perpetrators=["government_official"])
placeholders(1, "resource or account blocked", july, ["blocking"], "blocking", victims=["media_outlet"])
placeholders(1, "media outlet closed or suspended", july, ["media_closure"], "media_closure", victims=["media_outlet"])
event("Vera.kz hit by a series of DDoS attacks and account takeovers", "2024-07-11/2024-07-20", ["cyberattack"], "cyberattack",
      description="The website of the Shymkent news outlet Vera.kz suffered DDoS attacks between 11 and 20 July; social media accounts "
                  "were taken over and content published on 17 July was lost. Real incident named in the report.",
      region="Shymkent", city="Shymkent", victims=["media_outlet"], perpetrators=["unknown"], media=["online_media"], notable=True, real=True)
placeholders(4, "unauthorised access to computer information or DDoS attack", july, ["cyberattack"], "cyberattack", victims=["media_outlet"])

# July 2024: 14 pretrial and court claims (ongoing cases excluded, as the report does).
event("Placeholder: pretrial criminal accusation under the article on false information (2024-07)", "2024-07",
      ["criminal_accusation", "false_information_charge"], "criminal_charge", perpetrators=["police"])
placeholders(1, "pretrial criminal accusation", july, ["criminal_accusation"], "criminal_charge", perpetrators=["police"])
placeholders(10, "civil claim for protection of honour, dignity and business reputation", july, ["civil_claim"], "lawsuit", victims=["media_outlet"])
placeholders(2, "administrative case for posting or disseminating false information", july,
             ["administrative_accusation", "false_information_charge"], "administrative_charge", perpetrators=["police"])

# January–June 2024, so that January–July 2024 holds 87 legal cases: criminal 9, civil 57, administrative 21.
placeholders(6, "pretrial criminal accusation under the article on false information", jan_jun_2024,
             ["criminal_accusation", "false_information_charge"], "criminal_charge", perpetrators=["police"])
placeholders(1, "pretrial criminal accusation", jan_jun_2024, ["criminal_accusation"], "criminal_charge", perpetrators=["police"])
placeholders(47, "civil claim against a media outlet", jan_jun_2024, ["civil_claim"], "lawsuit", victims=["media_outlet"])
placeholders(9, "administrative libel case", jan_jun_2024, ["administrative_accusation", "defamation_charge"], "administrative_charge")
placeholders(5, "administrative case for posting or disseminating false information", jan_jun_2024,
             ["administrative_accusation", "false_information_charge"], "administrative_charge")
placeholders(5, "administrative case", jan_jun_2024, ["administrative_accusation"], "administrative_charge")

# January–July 2023: 55 legal cases: criminal 7 (3 for false information), civil 35, administrative 13 (libel 7).
placeholders(3, "pretrial criminal accusation under the article on false information", jan_jul_2023,
             ["criminal_accusation", "false_information_charge"], "criminal_charge")
placeholders(4, "pretrial criminal accusation", jan_jul_2023, ["criminal_accusation"], "criminal_charge")
placeholders(35, "civil claim against a media outlet", jan_jul_2023, ["civil_claim"], "lawsuit", victims=["media_outlet"])
placeholders(7, "administrative libel case", jan_jul_2023, ["administrative_accusation", "defamation_charge"], "administrative_charge")
placeholders(6, "administrative case", jan_jul_2023, ["administrative_accusation"], "administrative_charge")

# Real, named in the report, outside the July tallies.
event("Blogger Aidos Sadykov dies in Kyiv after an assassination attempt", "2024-07-02", ["right_to_life"], "killing",
      description="Aidos Sadykov, Kazakhstani blogger and author of the YouTube channel \"Base\", died in Kyiv on 2 July, thirteen days "
                  "after an assassination attempt on 18 June. Real incident named in the report; not part of its July tallies.",
      country="UA", region="Kyiv", city="Kyiv", victims=["blogger"], media=["video_hosting"], notable=True, real=True)
# Counting rule: dated only to the year, it is never spread over months ("undated" in a July report).
event("Placeholder: refusal of information dated only to the year (2024)", "2024", ["refusal_of_information"], "refusal_of_information",
      description="Placeholder showing the counting rule: an incident dated only \"2024\" is reported as undated within the year, "
                  "never counted in a month.")

doc = {
    "format": "casebook-export",
    "version": 2,
    "about": (
        "Incidents behind Adil Soz's July 2024 monitoring report (../shared/domain/adilsoz-monitoring-2024-07.txt). "
        "Two events are real and named in the report (Vera.kz DDoS attacks, 11–20 July; the death of blogger Aidos Sadykov, 2 July); "
        "every event whose title starts with \"Placeholder\" stands for an incident the report counts without naming it. "
        "Placeholders' victim, perpetrator and medium facets are only those the report's wording implies. "
        "Encoded figures: July 2024 by category and subcategory (11: 3/1/6/1; 26: 19/1/1/5; 14: 2/10/2) and January–July 2024 "
        "against January–July 2023 (legal cases 87 vs 55, 1.5 times more; criminal 9 vs 7, 1.2; civil 57 vs 35, 1.6; "
        "administrative 21 vs 13, 1.6; administrative libel 9 vs 7). The report gives January–June 2024 and January–July 2023 "
        "only as totals, so those placeholders are dated to the whole span (2024-01/2024-06, 2023-01/2023-07), never to a month. "
        "Every event belongs to the media_freedom programme. Generated by scripts/make-adilsoz-example.py."
    ),
    "records": records,
}
out = Path(__file__).resolve().parent.parent / "examples" / "adilsoz-2024-07.json"
out.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
print(f"wrote {out} ({len(records)} records)")
