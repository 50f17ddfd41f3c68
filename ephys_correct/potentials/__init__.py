"""Potentials between two solutions: liquid junction (Henderson, Nernst-Planck), bath exchange,
reversal potentials (Nernst, GHK, Donnan).  No pandas, no recordings."""
