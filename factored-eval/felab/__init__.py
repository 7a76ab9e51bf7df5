"""felab: a lab for Ought's Factored Evaluation and its relatives (blind, consultancy, debate, claim trees):
untrusted experts who read a hidden text answer for a judge who cannot.

    import felab
    from felab.protocols import load
    from felab.agents import play
"""

__version__ = "0.1.0"
