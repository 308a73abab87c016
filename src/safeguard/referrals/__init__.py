"""The referral hub, intake and resolution half: intake of CyberTipline-shaped reports (XML,
JSON) and fragment CSVs, identifier normalisation, matching of reported files, communications
data requests to providers and their returns, and the referral workflow."""
