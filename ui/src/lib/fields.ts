// What the forms show for each record kind. The core validates everything again; these specs only
// choose the right control for each field.
import type { Kind } from "./ipc";

export type FieldType =
  | "text" | "textarea" | "date" | "datetime" | "day" | "number" | "bool"
  | "code" | "codes" | "ref" | "refs" | "json" | "confidentiality"
  // Structured editors: a count with its qualifier, a decision's outcomes, custody transfers,
  // a list of short codes typed comma-separated (citizenships).
  | "quantity" | "outcomes" | "transfers" | "list";

export interface FieldSpec {
  name: string;
  type: FieldType;
  required?: boolean;
  vocabulary?: string;
  kinds?: Kind[];
}

const party: Kind[] = ["person", "organisation", "group"];

/** A custody transfer as the form edits it (flat strings; the place is assembled on save). */
export interface Transfer { date: string; site: string; city: string; region: string; country: string; note: string }

export const fieldsByKind: Record<Kind, FieldSpec[]> = {
  // What was received is fixed at intake; only the notes are edited.
  attachment: [{ name: "notes", type: "textarea" }],
  event: [
    { name: "title", type: "text", required: true },
    { name: "event_type", type: "code", vocabulary: "event_type", required: true },
    { name: "date", type: "date", required: true },
    { name: "place", type: "json" },
    { name: "categories", type: "codes", vocabulary: "violation_category" },
    { name: "cases", type: "refs", kinds: ["case"] },
    { name: "participants", type: "json" },
    { name: "victim_count", type: "quantity" },
    { name: "happened_at", type: "ref", kinds: ["hearing", "proceeding"] },
    { name: "programmes", type: "codes", vocabulary: "programme" },
    { name: "description", type: "textarea" },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "victim_types", type: "codes", vocabulary: "victim_type" },
    { name: "perpetrator_types", type: "codes", vocabulary: "perpetrator_type" },
    { name: "media", type: "codes", vocabulary: "medium" },
    { name: "notable", type: "bool" },
  ],
  case: [
    { name: "title", type: "text", required: true },
    { name: "case_kind", type: "code", vocabulary: "case_kind", required: true },
    { name: "status", type: "code", vocabulary: "case_status", required: true },
    { name: "summary", type: "textarea" },
    { name: "categories", type: "codes", vocabulary: "violation_category" },
    { name: "participants", type: "json" },
    { name: "related_cases", type: "refs", kinds: ["case"] },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "confidentiality", type: "confidentiality" },
    { name: "assignee", type: "text" },
    { name: "opened", type: "date" },
    { name: "region", type: "text" },
    { name: "programmes", type: "codes", vocabulary: "programme" },
    { name: "complaints", type: "json" },
  ],
  person: [
    { name: "names", type: "json", required: true },
    { name: "gender", type: "text" },
    { name: "birth_date", type: "date" },
    { name: "occupations", type: "codes", vocabulary: "occupation" },
    { name: "affiliations", type: "json" },
    { name: "contacts", type: "json" },
    { name: "recognitions", type: "json" },
    { name: "residence", type: "json" },
    { name: "citizenships", type: "list" },
    { name: "notes", type: "textarea" },
  ],
  group: [
    { name: "description", type: "text", required: true },
    { name: "count", type: "quantity" },
    { name: "members", type: "refs", kinds: ["person", "organisation"] },
    { name: "occupations", type: "codes", vocabulary: "occupation" },
    { name: "perpetrator_type", type: "code", vocabulary: "perpetrator_type" },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "notes", type: "textarea" },
  ],
  organisation: [
    { name: "names", type: "json", required: true },
    { name: "org_kind", type: "code", vocabulary: "org_kind", required: true },
    { name: "status_history", type: "json" },
    { name: "place", type: "json" },
    { name: "website", type: "text" },
    { name: "notes", type: "textarea" },
  ],
  detention: [
    { name: "person", type: "ref", kinds: ["person"], required: true },
    { name: "detention_kind", type: "code", vocabulary: "detention_kind", required: true },
    { name: "start", type: "date" },
    { name: "term_days", type: "number" },
    { name: "credited_days", type: "number" },
    { name: "planned_end", type: "date" },
    { name: "actual_end", type: "date" },
    { name: "place", type: "json" },
    { name: "legal_basis", type: "text" },
    { name: "transfers", type: "transfers" },
    { name: "extensions", type: "json" },
    { name: "case", type: "ref", kinds: ["case"] },
    { name: "event", type: "ref", kinds: ["event"] },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "notes", type: "textarea" },
  ],
  proceeding: [
    { name: "case", type: "ref", kinds: ["case"], required: true },
    { name: "proceeding_kind", type: "code", vocabulary: "proceeding_kind", required: true },
    { name: "stage", type: "code", vocabulary: "stage", required: true },
    { name: "court", type: "ref", kinds: ["organisation"] },
    { name: "court_name", type: "text" },
    { name: "case_number", type: "text" },
    { name: "judge", type: "ref", kinds: ["person"] },
    { name: "judge_name", type: "text" },
    { name: "closed_door", type: "bool" },
    { name: "online", type: "bool" },
    { name: "jurisdiction", type: "text" },
    { name: "started", type: "date" },
    { name: "ended", type: "date" },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "notes", type: "textarea" },
  ],
  charge: [
    { name: "proceeding", type: "ref", kinds: ["proceeding"], required: true },
    { name: "defendant", type: "ref", kinds: party, required: true },
    { name: "provision", type: "code", vocabulary: "legal_provision" },
    { name: "description", type: "text" },
    { name: "date", type: "date" },
    { name: "status", type: "code", vocabulary: "charge_status" },
    { name: "notes", type: "textarea" },
  ],
  hearing: [
    { name: "proceeding", type: "ref", kinds: ["proceeding"], required: true },
    { name: "scheduled", type: "datetime", required: true },
    { name: "time_zone", type: "text" },
    { name: "status", type: "code", vocabulary: "hearing_status", required: true },
    { name: "closed_door", type: "bool" },
    { name: "online", type: "bool" },
    { name: "court", type: "ref", kinds: ["organisation"] },
    { name: "room", type: "text" },
    { name: "postponed_from", type: "ref", kinds: ["hearing"] },
    { name: "postponement_reason", type: "text" },
    { name: "access_refused", type: "bool" },
    { name: "access_refused_to", type: "codes", vocabulary: "excluded_party" },
    { name: "notes", type: "textarea" },
  ],
  decision: [
    { name: "proceeding", type: "ref", kinds: ["proceeding"], required: true },
    { name: "date", type: "date", required: true },
    { name: "decision_kind", type: "code", vocabulary: "decision_kind", required: true },
    { name: "outcomes", type: "outcomes", kinds: party },
    { name: "appeal_deadline", type: "day" },
    { name: "sources", type: "refs", kinds: ["source"] },
    { name: "notes", type: "textarea" },
  ],
  source: [
    { name: "title", type: "text", required: true },
    { name: "source_kind", type: "code", vocabulary: "source_kind", required: true },
    { name: "publisher", type: "text" },
    { name: "url", type: "text" },
    { name: "date", type: "date" },
    { name: "language", type: "text" },
    { name: "reliability", type: "code", vocabulary: "reliability" },
    { name: "notes", type: "textarea" },
  ],
  partner: [
    { name: "name", type: "text", required: true },
    { name: "age_recipient", type: "text" },
    { name: "signing_key", type: "text" },
    { name: "fingerprint_verified", type: "bool" },
    { name: "notes", type: "textarea" },
  ],
  term: [
    { name: "vocabulary", type: "text", required: true },
    { name: "code", type: "text", required: true },
    { name: "parent", type: "text" },
    { name: "labels", type: "json", required: true },
    { name: "provision", type: "json" },
    { name: "huridocs", type: "text" },
    { name: "note", type: "textarea" },
    { name: "retired", type: "bool" },
  ],
};
