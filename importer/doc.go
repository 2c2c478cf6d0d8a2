// Package importer reads the number registries' published statistics and plans the
// transactions that put them on the ledger.
//
// It parses the NRO "RIR statistics exchange format" (delegated and delegated-extended
// statistics, https://www.nro.net/wp-content/uploads/nro-extended-stats-readme5.txt) exactly
// as IANA and the RIRs publish it, flaws included: each flaw is reported as "file:line:
// message", the line is skipped and counted, and in strict mode the first flaw is fatal.
// A ".md5" file beside a data file is verified. Files compressed with gzip or bzip2 are
// read as the RIRs' archives publish them, bounded by MaxFileBytes of text; a file of
// nothing but flaws fails (ErrUnreadable), and CheckDates tells whether files are of one
// date.
//
// PlanImport turns the parsed files of one date into ordered transaction bodies: the
// inter-registry transfers that make the registries' pools match that date, then the keyless
// organisations that hold the records, then the allocations. It builds bodies only; the
// caller signs and submits them. Nothing here writes state behind the ledger's back.
package importer
