-- Create index "recording_numbers_missing" to table: "recordings"
CREATE INDEX "recording_numbers_missing" ON "recordings" ("domain_id") WHERE ((caller_number IS NULL) OR (callee_number IS NULL) OR (account_code_number IS NULL));
