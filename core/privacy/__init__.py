"""Member data rights (PIPL): what each package stores about a member, its export and erasure,
and versioned consents to the terms, the privacy notice and the questionnaire."""
