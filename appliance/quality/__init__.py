"""On-device photo quality checks against the CHSI standard, on LiteRT models.

Entry points (imported from their modules, so loading the config does not load the models' stack):
``appliance.quality.checker`` (PhotoChecker, CheckReport, Guidance, crop_to_chsi),
``appliance.quality.chsi_file`` (encode_chsi_jpeg, write_chsi_photo, JpegSizeError),
``appliance.quality.models`` (ModelStore). ``booth check-photo`` runs the same code on files.
"""
