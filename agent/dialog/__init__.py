"""Language understanding for the offline protocol dialog engine: dates, entities, intents."""
