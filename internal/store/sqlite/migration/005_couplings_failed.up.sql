-- Every run lists a mapping's failed couplings to retry them: without this
-- index it read every coupling of the mapping (snapshots included), a cost
-- that grew with the table instead of the failures.
CREATE INDEX couplings_failed ON couplings (mapping, id) WHERE last_result = 'Failure';
