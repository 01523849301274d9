"""riskscore"""
