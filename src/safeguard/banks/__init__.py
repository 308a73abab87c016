"""Banks of known hashes: import and export of bank files, the PDQ indexes kept per bank, the
lookup service, bank and token administration, and a case's final grades exported as a bank
(the loop back to the national database). Below triage: the ingest matches through these
indexes, and nothing here knows about exhibits being ingested."""
