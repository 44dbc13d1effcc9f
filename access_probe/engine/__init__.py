"""The measurement engine: ambient network state, one probe per protocol layer, one
target measured step by step, error classification, block-page fingerprints, the control
client and the concurrent check. It imports the model, the schema and the verdict, never
the agent side or the collector."""
