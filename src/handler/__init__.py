"""SentimentPulse Lambda: API Gateway HTTP API → Powertools resolver → SageMaker endpoint."""
