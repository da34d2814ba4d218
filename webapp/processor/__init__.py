"""Processor-role duties (GDPR Art. 28 and 30): the DPA, sub-processors, records of processing.

Rule: these are control-plane records about tenants (who accepted which DPA version, who
objected to which sub-processor change); none of them reads tenant data. Texts that bind
Parvis (the DPA) are versioned files whose SHA-256 is recorded with each acceptance.
"""
