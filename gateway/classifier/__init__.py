"""The classifier as the gateway uses it: rules plus a trained model, routing by type and place.

``normalizer.classify`` (rules) and ``normalizer.places`` (provinces) are pure; this
package loads their data, trains and loads the model (``model``), combines the two
opinions into one decision with its reasons (``decide``) and offers the commands
``flask --app wsgi classify`` and ``flask --app wsgi classifier train`` (``commands``).
"""
